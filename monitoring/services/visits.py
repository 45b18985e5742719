"""Monitoring visits (走访): the helper's (at least) monthly visit of a monitored household.

:func:`visit_record` is the one write; it keeps the open case's ``next_visit_due`` current.
:func:`visit_due` is the pure rule every page, list and task asks: the next visit is due
``visit_interval_days`` after the last visit (or after the case started being monitored,
if nobody has visited since), and nothing is due once the case is closed.
"""

from __future__ import annotations

import datetime as dt

from django.core.validators import ProhibitNullCharactersValidator
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role
from households.models import Helper, HelperAssignment, Household
from monitoring.models import OPEN_CASE_STATUSES, CaseStatus, Channel, MonitoringCase, Visit
from monitoring.rules import coerce, deadlines
from monitoring.services.audit import require_area

#: Case statuses in which the household is visited on a schedule. A case in the exit
#: procedure is still monitored until the county approves the exit.
VISIT_DUE_STATUSES = (
    CaseStatus.MONITORED,
    CaseStatus.PROVISIONAL,
    CaseStatus.SECURED_TRACKING,
    CaseStatus.EXIT_IN_PROGRESS,
)

AMOUNT_FIELDS = (
    "wages",
    "business",
    "property_income",
    "transfer",
    "business_expenditure",
    "medical_spending",
)
GUARANTEE_FIELDS = (
    "food_clothing_secure",
    "compulsory_education_secure",
    "medical_insurance_secure",
    "housing_secure",
    "drinking_water_secure",
)
CLUE_FIELDS = {"risk_type_codes", "description", "amount"}


# ---------------------------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------------------------


def visit_due(
    last_visit_date: dt.date | None,
    opened_or_identified_date: dt.date | None,
    interval_days: int,
    case_status: str | None,
    now: dt.datetime,
    *,
    due_soon_days: int = 5,
) -> deadlines.Deadline:
    """When the next visit is due, and whether it is near or missed at ``now``.

    Due ``interval_days`` calendar days after the later of the last visit and the date the
    case started being monitored (a visit during the identification procedure does not
    bring the first monitoring visit forward). ``State.NONE`` when the case is closed or
    not (yet) monitored, or when there is no date to count from.
    """
    if case_status not in VISIT_DUE_STATUSES:
        return deadlines.Deadline(deadlines.State.NONE, None, None)
    dates = [d for d in (last_visit_date, opened_or_identified_date) if d is not None]
    if not dates:
        return deadlines.Deadline(deadlines.State.NONE, None, None)
    due = next_visit_date(max(dates), interval_days)
    return deadlines.deadline(due, now=now, due_soon_days=due_soon_days)


def next_visit_date(last: dt.date, interval_days: int) -> dt.date:
    return deadlines.add_days(last, interval_days)


def monitoring_start(case: MonitoringCase) -> dt.date | None:
    """The date visits are counted from when nobody has visited yet."""
    if case.identified_on:
        return case.identified_on
    if case.provisional_on:
        return case.provisional_on
    return deadlines.local_date(case.opened_at) if case.opened_at else None


def last_visit_date(household: Household | int) -> dt.date | None:
    household_id = household.pk if isinstance(household, Household) else household
    return Visit.objects.filter(household_id=household_id).aggregate(last=Max("visited_on"))["last"]


def case_visit_deadline(
    case: MonitoringCase, *, now: dt.datetime, settings=None, last_visit: dt.date | None = None
) -> deadlines.Deadline:
    """:func:`visit_due` for a case (reads the last visit and the county settings if not given)."""
    from monitoring.county import settings_for

    settings = settings or settings_for(case.area_code)
    if last_visit is None:
        last_visit = last_visit_date(case.household_id)
    return visit_due(
        last_visit,
        monitoring_start(case),
        settings.visit_interval_days,
        case.status,
        now,
        due_soon_days=settings.due_soon_days,
    )


# ---------------------------------------------------------------------------------------------
# The write
# ---------------------------------------------------------------------------------------------


def _assigned(helper: Helper, household: Household, on: dt.date) -> bool:
    return HelperAssignment.objects.active(on=on).filter(helper=helper, household=household).exists()


def _check_role(actor, household: Household) -> None:
    """Before looking at the input: only helpers and the village's cadres record visits."""
    if actor is None or actor.is_superuser:
        return
    if actor.role == Role.VILLAGE_CADRE:
        require_area(actor, household.area_code)
    elif actor.role != Role.HELPER:
        raise NotAllowed(_("只有帮扶责任人和本村干部可以记录走访。"))


def _visitor(actor, household: Household, helper: Helper | None, on: dt.date) -> Helper | None:
    """The helper the visit is recorded for; a helper must be assigned to the household on the day."""
    if actor is not None and not actor.is_superuser and actor.role == Role.HELPER:
        profile = Helper.objects.filter(user=actor).first()
        if profile is None or not _assigned(profile, household, on):
            raise NotAllowed(_("您不是该户的帮扶责任人，不能记录走访。"))
        if helper is not None and helper.pk != profile.pk:
            raise ValidationError({"helper": _("只能记录本人的走访。")})
        return profile
    if helper is not None and not _assigned(helper, household, on):
        raise ValidationError({"helper": _("该帮扶人在走访当日不是此户的帮扶人。")})
    return helper


def _check_date(visited_on, household: Household, today: dt.date, errors: dict) -> dt.date | None:
    if isinstance(visited_on, str):
        try:
            visited_on = dt.date.fromisoformat(visited_on)
        except ValueError:
            errors["visited_on"] = _("日期格式不正确。")
            return None
    if not isinstance(visited_on, dt.date) or isinstance(visited_on, dt.datetime):
        errors["visited_on"] = _("请填写走访日期。")
        return None
    if visited_on > today:
        errors["visited_on"] = _("走访日期不能晚于今天。")
        return None
    registered = deadlines.local_date(household.created_at) if household.created_at else None
    if registered and visited_on < registered:
        errors["visited_on"] = _("走访日期不能早于农户登记日期（%(date)s）。") % {"date": registered}
        return None
    return visited_on


def _check_clue(raise_clue: dict | None, errors: dict) -> dict | None:
    if raise_clue is None:
        return None
    if not isinstance(raise_clue, dict):
        errors["raise_clue"] = _("风险线索内容不正确。")
        return None
    unknown = set(raise_clue) - CLUE_FIELDS
    if unknown:
        errors["raise_clue"] = _("风险线索中有不能填写的项：%(names)s") % {
            "names": "、".join(sorted(unknown))
        }
        return None
    codes = raise_clue.get("risk_type_codes") or []
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        errors["risk_type_codes"] = _("须为风险类型代码（字符串）的列表。")
        return None
    codes = [c.strip() for c in codes if c.strip()]
    if not codes:
        errors["risk_type_codes"] = _("发现风险时请选择风险类型。")
        return None
    description = raise_clue.get("description") or ""
    if not isinstance(description, str):
        errors["description"] = _("须为字符串。")
        return None
    if "\x00" in description:
        errors["description"] = str(ProhibitNullCharactersValidator.message)
        return None
    return {
        "risk_type_codes": codes,
        "description": description.strip(),
        "amount": raise_clue.get("amount"),
    }


def _keep_next_visit_due(case: MonitoringCase, household: Household) -> None:
    """The case's next visit falls due the county's interval after the last visit."""
    from monitoring.county import settings_for

    settings = settings_for(case.area_code)
    last = last_visit_date(household)
    start = monitoring_start(case)
    base = max(d for d in (last, start) if d is not None)
    due = next_visit_date(base, settings.visit_interval_days)
    if case.next_visit_due != due:
        case.next_visit_due = due
        case.save(update_fields=["next_visit_due"])


@transaction.atomic
def visit_record(
    *,
    actor,
    household: Household,
    visited_on: dt.date,
    helper: Helper | None = None,
    wages=None,
    business=None,
    property_income=None,
    transfer=None,
    business_expenditure=None,
    medical_spending=None,
    food_clothing_secure: bool = True,
    compulsory_education_secure: bool = True,
    medical_insurance_secure: bool = True,
    housing_secure: bool = True,
    drinking_water_secure: bool = True,
    needs: str = "",
    notes: str = "",
    raise_clue: dict | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Record a visit by the household's helper (or a village cadre of its village).

    Refuses a visit dated in the future or before the household was registered. With
    ``raise_clue={"risk_type_codes": [...], "description": ...}`` the visit raises a risk
    clue (channel 干部排查走访, found on the visit's date) through
    :func:`monitoring.services.clues.clue_create`, and keeps the link. The visit belongs to
    the household's open case, whose ``next_visit_due`` moves to the last visit + the
    county's ``visit_interval_days`` while the case is monitored.
    """
    now = now or timezone.now()
    today = deadlines.local_date(now)
    household = Household.objects.get(pk=household.pk)
    _check_role(actor, household)
    errors: dict = {}
    # Every input error of the call is raised together: the date's, the amounts', the clue's.
    day = _check_date(visited_on, household, today, errors)
    if day is not None:
        try:
            helper = _visitor(actor, household, helper, day)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    raw_amounts = {
        "wages": wages,
        "business": business,
        "property_income": property_income,
        "transfer": transfer,
        "business_expenditure": business_expenditure,
        "medical_spending": medical_spending,
    }
    amounts = {name: coerce.amount_field(raw_amounts, name, errors) for name in raw_amounts}
    clue_data = _check_clue(raise_clue, errors)
    needs, notes = (needs or "").strip(), (notes or "").strip()
    if errors:
        raise ValidationError(errors)

    clue = None
    if clue_data is not None:
        from monitoring.services.clues import clue_create

        clue = clue_create(
            actor=actor,
            channel=Channel.CADRE_SCREENING,
            found_date=day,
            risk_type_codes=clue_data["risk_type_codes"],
            household=household,
            description=clue_data["description"] or notes or needs,
            amount=clue_data["amount"],
            now=now,
        )

    case = (
        MonitoringCase.objects.select_for_update()
        .filter(household=household, status__in=OPEN_CASE_STATUSES, found_date__lte=day)
        .first()
    )
    visit = Visit.objects.create(
        household=household,
        area_code=household.area_code,
        case=case,
        helper=helper,
        visited_by=actor if actor is not None and actor.pk else None,
        visited_on=day,
        needs=needs,
        notes=notes,
        raised_clue=clue,
        **amounts,
        food_clothing_secure=bool(food_clothing_secure),
        compulsory_education_secure=bool(compulsory_education_secure),
        medical_insurance_secure=bool(medical_insurance_secure),
        housing_secure=bool(housing_secure),
        drinking_water_secure=bool(drinking_water_secure),
    )
    from monitoring.services.screening import screening_visit_done

    screening_visit_done(visit)
    if case is not None and case.status in VISIT_DUE_STATUSES:
        _keep_next_visit_due(case, household)
    return visit
