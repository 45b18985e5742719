"""Risk clues (风险线索): receive, match, attach, dismiss, open a case.

A clue from a household's self-report or a cadre's screening names its household and the
village starts home verification at once. Department alerts, system clues and others wait for
the county's triage: match to a household by ID number (unmatched ones wait for a county user),
then dismiss with a reason or open a case. A second clue on a household that already has an
open case attaches to it. Every clue ends with an outcome its source can read.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import InvalidTransition, ValidationError
from accounts.models import Department, Role
from households import idnumber
from households.models import Household, Person
from monitoring.county import settings_for
from monitoring.models import (
    CLUE_DESCRIPTION_MAX,
    CaseStatus,
    Channel,
    Clue,
    ClueStatus,
    DismissReason,
    MonitoringCase,
)
from monitoring.rules import coerce, deadlines, transitions
from monitoring.services.audit import (
    apply_transition,
    record_bulk,
    require_area,
    require_household,
    require_role,
)
from monitoring.services.cases import STAFF, case_open, check_risk_types, lock_case

OPENS_AT_ONCE = (Channel.SELF_REPORT, Channel.CADRE_SCREENING)
TRIAGE_ROLES = (Role.COUNTY_APPROVER,)


def _transition(clue: Clue, action: str, *, actor, now, reason="", data=None) -> None:
    apply_transition(
        clue,
        transitions.CLUE_TRANSITIONS,
        action,
        object_type="clue",
        case=clue.case,
        labels=lambda s: ClueStatus(s).label,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
    )


def _actor_county_code(actor) -> str:
    if actor is None:
        return ""
    for area in actor.areas.all():
        return area.code[:6] + "000000"
    return ""


def _validate(*, channel, found_date, department, external_id, amount, today) -> dict:
    errors = {}
    if channel not in Channel.values:
        errors["channel"] = _("请选择线索来源。")
    if not isinstance(found_date, dt.date):
        errors["found_date"] = _("请填写发现风险日期。")
    elif found_date > today:
        errors["found_date"] = _("发现风险日期不能晚于今天。")
    elif found_date < today - dt.timedelta(days=366 * 2):
        errors["found_date"] = _("发现风险日期过早，请核实。")
    if channel == Channel.DEPARTMENT_ALERT:
        if department is None:
            errors["department"] = _("部门预警须注明预警部门。")
        if not (external_id or "").strip():
            errors["external_id"] = _("部门预警须有部门的预警编号。")
    coerce.amount_field({"amount": amount}, "amount", errors)
    return errors


def _id_number(id_number: str, errors: dict, *, today: dt.date) -> str:
    """The ID number normalised and checked (empty when none was given)."""
    number = idnumber.normalize(id_number)
    if number:
        try:
            number = idnumber.parse(number, today=today).number
        except idnumber.IDNumberError as exc:
            errors["id_number"] = exc.message
    return number


def _match(id_number: str) -> Person | None:
    if not id_number:
        return None
    return Person.objects.select_related("household").filter(id_number=id_number).first()


def _channel_of(actor, channel: str, department: Department | None) -> tuple[str, Department | None]:
    """A department's own account always sends its department's alerts; others need a staff role."""
    if actor is not None and actor.role == Role.DEPARTMENT and not actor.is_superuser:
        return Channel.DEPARTMENT_ALERT, actor.department
    if actor is not None:
        require_role(actor, *STAFF, Role.HELPER)
    return channel, department


def _locate(
    number: str, person: Person | None, household: Household | None
) -> tuple[Person | None, Household | None]:
    """The person and household a clue is about: as given, else found by the ID number."""
    if person is None and household is None:
        person = _match(number)
    if person is not None and household is None:
        household = person.household
    if household is not None and person is None and number:
        person = household.members.filter(id_number=number).first()
    return person, household


def _area_of(actor, household: Household | None) -> str:
    """Where the clue waits: its household's village (inside the reporter's reach), else the
    reporter's county."""
    if household is None:
        return _actor_county_code(actor)
    if actor is not None and actor.role != Role.DEPARTMENT:
        require_household(actor, household)
    return household.area_code


@transaction.atomic
def clue_create(
    *,
    actor,
    channel: str,
    found_date: dt.date,
    risk_type_codes: list[str],
    household: Household | None = None,
    person: Person | None = None,
    id_number: str = "",
    name: str = "",
    description: str = "",
    department: Department | None = None,
    external_id: str = "",
    amount=None,
    reporter_name: str = "",
    rule_code: str = "",
    period: str = "",
    open_case: bool | None = None,
    now: dt.datetime | None = None,
) -> Clue:
    """Register a clue, match it, and attach it or open a case where the channel says so."""
    now = now or timezone.now()
    today = deadlines.local_date(now)
    channel, department = _channel_of(actor, channel, department)
    errors = _validate(
        channel=channel,
        found_date=found_date,
        department=department,
        external_id=external_id,
        amount=amount,
        today=today,
    )
    number = _id_number(id_number, errors, today=today)
    description = coerce.text_field(
        {"description": description}, "description", errors, required=False, max_length=CLUE_DESCRIPTION_MAX
    )
    try:  # checked with the rest, so every error of the call is reported together
        risks = check_risk_types(list(risk_type_codes or []), household.area_code if household else "000000")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    person, household = _locate(number, person, household)
    received = "receive" if household is not None else "receive_unmatched"
    clue = Clue(
        channel=channel,
        department=department,
        external_id=(external_id or "").strip(),
        reported_by=actor if actor is not None else None,
        reporter_name=reporter_name,
        found_date=found_date,
        description=description,
        amount=amount if amount not in ("",) else None,
        id_number=number,
        name=name or (person.name if person else ""),
        person=person,
        household=household,
        area_code=_area_of(actor, household),
        status=transitions.target(transitions.CLUE_TRANSITIONS, received),
        rule_code=rule_code,
        period=period,
    )
    clue.save()
    clue.risk_types.set(risks)
    record_bulk(
        transitions.CLUE_TRANSITIONS,
        received,
        [clue],
        object_type="clue",
        from_status=transitions.NEW,
        actor=actor,
        now=now,
        data={"channel": channel},
    )
    if household is not None:
        _route(clue, actor=actor, now=now, open_case=open_case)
    return clue


def _route(clue: Clue, *, actor, now, open_case: bool | None) -> None:
    existing = MonitoringCase.objects.open().filter(household=clue.household).first()
    if existing is not None:
        _attach(clue, existing, actor=actor, now=now)
        return
    if open_case is None:
        open_case = clue.channel in OPENS_AT_ONCE
    if open_case and (actor is None or actor.has_role(*STAFF)):
        _open_or_attach(clue, actor=actor, now=now)


def _attach(clue: Clue, case: MonitoringCase, *, actor, now) -> None:
    case = lock_case(case.pk)
    clue.case = case
    _transition(clue, "attach", actor=actor, now=now, data={"case": case.pk})
    clue.outcome, clue.outcome_at = _("已并入在办案件（#%(id)s）") % {"id": case.pk}, now
    clue.save()
    codes = set(case.risk_types.values_list("code", flat=True)) | {r.code for r in clue.risk_types.all()}
    maximum = settings_for(case.area_code).max_risk_types
    if case.status in (CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL) and len(codes) <= maximum:
        case.risk_types.add(*clue.risk_types.all())
    case.version += 1
    case.save(update_fields=["version"])


def _open_or_attach(clue: Clue, *, actor, now) -> MonitoringCase:
    """Open a case from the clue; if another clue opened one for the household meanwhile (two
    reports at once), attach to that case instead of failing and losing what was entered.

    ``case_open`` locks the household, so the second one waits, then sees the first one's case.
    The savepoint releases that lock again before :func:`_attach` locks the case (and with it
    the household), the same order as every step action.
    """
    try:
        with transaction.atomic():
            return _open(clue, actor=actor, now=now)
    except (InvalidTransition, IntegrityError):
        existing = MonitoringCase.objects.open().filter(household_id=clue.household_id).first()
        if existing is None:
            raise
    _attach(clue, existing, actor=actor, now=now)
    return existing


def _open(clue: Clue, *, actor, now) -> MonitoringCase:
    case = case_open(actor=actor, household=clue.household, clues=[clue], now=now)
    clue.case = case
    _transition(clue, "open_case", actor=actor, now=now, data={"case": case.pk})
    clue.outcome, clue.outcome_at = _("已启动识别程序"), now
    clue.save()
    return case


@transaction.atomic
def alert_receive(*, actor, department: Department, external_id: str, **fields) -> tuple[Clue, bool]:
    """A department alert, idempotent per (department, external id): a retry returns the first."""
    external_id = (external_id or "").strip()
    existing = (
        Clue.objects.filter(department=department, external_id=external_id).first() if external_id else None
    )
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            clue = clue_create(
                actor=actor,
                channel=Channel.DEPARTMENT_ALERT,
                department=department,
                external_id=external_id,
                **fields,
            )
    except IntegrityError:  # the same alert arrived twice at once: the other one won
        existing = Clue.objects.filter(department=department, external_id=external_id).first()
        if existing is None:
            raise
        return existing, False
    return clue, True


def _lock_clue(clue: Clue) -> Clue:
    # of=("self",): PostgreSQL cannot lock the nullable side of the outer join to the household.
    return Clue.objects.select_for_update(of=("self",)).select_related("household").get(pk=clue.pk)


@transaction.atomic
def clue_match(
    *, actor, clue: Clue, household: Household, person: Person | None = None, now: dt.datetime | None = None
) -> Clue:
    """A county user matches an unmatched clue to a household."""
    now = now or timezone.now()
    require_role(actor, *TRIAGE_ROLES)
    require_area(actor, household.area_code)
    clue = _lock_clue(clue)
    if person is not None and person.household_id != household.pk:
        raise ValidationError({"person": _("该人员不属于所选农户。")})
    _transition(clue, "match", actor=actor, now=now, data={"household": household.pk})
    clue.household, clue.person, clue.area_code = household, person, household.area_code
    clue.save()
    existing = MonitoringCase.objects.open().filter(household=household).first()
    if existing is not None:
        _attach(clue, existing, actor=actor, now=now)
    return clue


@transaction.atomic
def clue_dismiss(*, actor, clue: Clue, reason: str, note: str = "", now: dt.datetime | None = None) -> Clue:
    now = now or timezone.now()
    require_role(actor, *TRIAGE_ROLES)
    clue = _lock_clue(clue)
    if clue.area_code:
        require_area(actor, clue.area_code)
    if reason not in DismissReason.values:
        raise ValidationError({"reason": _("请选择排除原因。")})
    if reason == DismissReason.OTHER and not note.strip():
        raise ValidationError({"note": _("请说明排除原因。")})
    _transition(clue, "dismiss", actor=actor, now=now, reason=note or DismissReason(reason).label)
    clue.dismiss_reason = reason
    label = DismissReason(reason).label
    clue.outcome = (_("已排除：%(r)s") % {"r": label} + (f"（{note.strip()}）" if note.strip() else ""))[:300]
    clue.outcome_at = now
    clue.save()
    return clue


@transaction.atomic
def clue_open_case(*, actor, clue: Clue, now: dt.datetime | None = None) -> MonitoringCase:
    """Triage: open an identification case from a matched clue (or attach to the open one)."""
    now = now or timezone.now()
    require_role(actor, *TRIAGE_ROLES)
    clue = _lock_clue(clue)
    if clue.household is None:
        raise InvalidTransition(_("线索尚未匹配到农户，请先匹配。"))
    require_area(actor, clue.area_code)
    existing = MonitoringCase.objects.open().filter(household=clue.household).first()
    if existing is not None:
        _attach(clue, existing, actor=actor, now=now)
        return existing
    err = transitions.transition_error(
        transitions.CLUE_TRANSITIONS, "open_case", clue.status, lambda s: ClueStatus(s).label
    )
    if err:
        raise InvalidTransition(err)
    return _open_or_attach(clue, actor=actor, now=now)
