"""Assistance plans and measures (帮扶计划、帮扶措施落实): every write, one transaction each.

* :func:`plan_set` adds measures to a case's plan (or re-plans measures already in it) and
  refuses the whole change, listing every broken rule, when the resulting plan breaks the
  county's catalogue rules (:mod:`monitoring.rules.plans`). Nothing is half-saved.
* :func:`measure_add` is :func:`plan_set` for one measure.
* :func:`measure_start`, :func:`measure_complete`, :func:`measure_stop` move a measure along
  :data:`monitoring.rules.transitions.MEASURE_TRANSITIONS` (through :func:`measure_transition`,
  as every measure status is written). A measure owned by a department is that department's
  task: its users start and complete it, as do county staff.
* :func:`measure_deadline`: "at least one measure in place within a month of identification".
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import Department, Role
from households.models import ABLE_TO_WORK
from monitoring.models import AssistanceMeasure, CaseStatus, Measure, MeasureStatus, MonitoringCase
from monitoring.rules import coerce, deadlines, plans, transitions
from monitoring.services.audit import (
    apply_transition,
    record_bulk,
    record_change,
    require_area,
    require_reason,
    require_role,
)

#: Case statuses in which a plan may be set (green channel: assistance before the procedure ends).
PLANNING_STATUSES = (CaseStatus.MONITORED, CaseStatus.PROVISIONAL, CaseStatus.SECURED_TRACKING)
PLANNING_ROLES = (Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER)
#: Case statuses in which "a measure in place within a month" is watched.
MEASURE_DEADLINE_STATUSES = (
    CaseStatus.MONITORED,
    CaseStatus.PROVISIONAL,
    CaseStatus.SECURED_TRACKING,
    CaseStatus.EXIT_IN_PROGRESS,
)

ITEM_FIELDS = {
    "measure",
    "measure_id",
    "measure_code",
    "department",
    "responsible_person",
    "planned_start",
    "planned_end",
    "amount",
    "note",
}
MEASURES = transitions.MEASURE_TRANSITIONS


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------


def now_or(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _lock_case(case: MonitoringCase) -> MonitoringCase:
    return MonitoringCase.objects.select_for_update().get(pk=case.pk)


def _county_code(area_code: str) -> str:
    return area_code[:6] + "000000"


def _resolve_measure(item: dict, area_code: str) -> tuple[Measure | None, str | None]:
    raw = item.get("measure")
    if raw is None:
        raw = item.get("measure_id") if item.get("measure_id") is not None else item.get("measure_code")
    if raw in (None, ""):
        return None, _("请选择帮扶措施。")
    qs = Measure.objects.select_related("category", "department", "county")
    if isinstance(raw, Measure):
        measure = qs.filter(pk=raw.pk).first()
    elif isinstance(raw, int):
        measure = qs.filter(pk=raw).first()
    else:
        text = str(raw).strip()
        measure = qs.filter(code=text).first()
        if measure is None and text.isdigit():
            measure = qs.filter(pk=int(text)).first()
    if measure is None:
        return None, _("措施目录中没有该措施。")
    if not measure.is_active:
        return None, _("措施「%(measure)s」已停用。") % {"measure": measure.name}
    if measure.county_id and measure.county.code != _county_code(area_code):
        return None, _("措施「%(measure)s」不属于本县措施目录。") % {"measure": measure.name}
    return measure, None


def _resolve_department(raw) -> tuple[Department | None, str | None]:
    if raw in (None, ""):
        return None, None
    if isinstance(raw, Department):
        return raw, None
    qs = Department.objects.filter(is_active=True)
    found = qs.filter(pk=raw).first() if isinstance(raw, int) else qs.filter(code=str(raw)).first()
    if found is None and isinstance(raw, str) and raw.isdigit():
        found = qs.filter(pk=int(raw)).first()
    if found is None:
        return None, _("没有该责任部门。")
    return found, None


def _text(data: dict, field: str, errors: dict, *, max_length: int, too_long: str) -> str:
    """A free-text field: text (or a number, as text); anything else, or a NUL character, is a
    field error."""
    return coerce.text_field(
        data, field, errors, required=False, max_length=max_length, accepts=coerce.NUMBERS, too_long=too_long
    )


def _note(data: dict, errors: dict) -> str:
    return _text(data, "note", errors, max_length=300, too_long=_("备注不能超过300字。"))


def _date(data: dict, field: str, errors: dict) -> dt.date | None:
    """A planned date: a date or an ISO text, in the future too; not a datetime."""
    return coerce.date_field(data, field, errors, today=None, required=False, allow_datetime=False)


def _clean_item(index: int, item: dict, area_code: str, errors: dict) -> dict | None:
    """Resolve and check one plan item; errors go under ``items-<i>-<field>`` keys."""
    prefix = f"items-{index}-"
    if not isinstance(item, dict):
        errors[prefix + "measure"] = _("请选择帮扶措施。")
        return None
    unknown = set(item) - ITEM_FIELDS
    for name in sorted(unknown):
        errors[prefix + name] = _("不能填写此项。")
    mine: dict = {}
    measure, problem = _resolve_measure(item, area_code)
    if problem:
        mine["measure"] = problem
    if "department" in item:
        department, problem = _resolve_department(item["department"])
        if problem:
            mine["department"] = problem
    else:
        department = measure.department if measure else None
    person = _text(item, "responsible_person", mine, max_length=50, too_long=_("责任人姓名过长。"))
    start = _date(item, "planned_start", mine)
    end = _date(item, "planned_end", mine)
    if start and end and end < start:
        mine["planned_end"] = _("计划完成日期不能早于计划开始日期。")
    amount = coerce.amount_field(item, "amount", mine)
    note = _note(item, mine)
    errors.update({prefix + k: v for k, v in mine.items()})
    if mine or unknown:
        return None
    return {
        "measure": measure,
        "department": department,
        "responsible_person": person,
        "planned_start": start,
        "planned_end": end,
        "amount": amount,
        "note": note,
        "given": set(item),
    }


def _able_to_work(case: MonitoringCase) -> bool:
    return case.household.members.filter(labour_capacity__in=ABLE_TO_WORK).exists()


def plan_violations(
    case: MonitoringCase,
    measures: list[Measure],
    *,
    rules: plans.PlanRules | None = None,
) -> list[plans.Violation]:
    """What is wrong with a plan made of these catalogue measures for this case (no writes)."""
    rules = rules or plans.plan_rules_for(case.area_code)
    return plans.validate_plan(
        risk_codes=[rt.code for rt in case.risk_types.all()],
        measures=[plans.plan_measure_of(m) for m in measures],
        rules=rules,
        **_development_rule(case),
    )


def _development_rule(case: MonitoringCase) -> dict:
    """The development rule's inputs for a case: the household's labour, the county's switches."""
    from monitoring.county import settings_for

    county_settings = settings_for(case.area_code)
    return {
        "able_to_work": _able_to_work(case),
        "require_development_for_able": county_settings.require_development_for_able,
        "point_to_point_exempt": county_settings.point_to_point_exempt,
        "relief_first": county_settings.relief_first and case.status == CaseStatus.PROVISIONAL,
    }


def plan_editor_marks(case: MonitoringCase, catalogue, *, rules: plans.PlanRules | None = None) -> dict:
    """What the plan editor shows: the catalogue by category with each measure's mark for the
    case's risks (:func:`monitoring.rules.plans.measure_marks`, with each measure's ``id``), and
    whether the plan needs a development measure (``"needed"``), waits for it (green channel,
    ``"relief_first"``), is let off by the point-to-point exception (``"exempt"``) or not
    (``""``)."""
    rules = rules or plans.plan_rules_for(case.area_code)
    risk_codes = [rt.code for rt in case.risk_types.all()]
    measures = list(catalogue)
    groups = plans.measure_marks(risk_codes, [plans.plan_measure_of(m) for m in measures], rules)
    ids = {m.code: m.pk for m in measures}
    for group in groups:
        for item in group["measures"]:
            item["id"] = ids[item["code"]]
    rule = _development_rule(case)

    def needs(**changed) -> bool:
        return plans.needs_development(risk_codes, rules=rules, **{**rule, **changed})

    if needs():
        development = "needed"
    elif rule["relief_first"] and needs(relief_first=False):
        development = "relief_first"
    elif needs(point_to_point_exempt=False):
        development = "exempt"
    else:
        development = ""
    return {"groups": groups, "development": development}


def current_plan_violations(case: MonitoringCase) -> list[plans.Violation]:
    """The violations of the case's current plan (its measures that are not stopped)."""
    active = (
        AssistanceMeasure.objects.filter(case=case)
        .exclude(status=MeasureStatus.STOPPED)
        .select_related("measure__category")
    )
    return plan_violations(case, _distinct_measures(am.measure for am in active))


def _distinct_measures(measures) -> list[Measure]:
    out: dict[str, Measure] = {}
    for m in measures:
        out.setdefault(m.code, m)
    return list(out.values())


def _check_case_open_for_planning(case: MonitoringCase) -> None:
    from monitoring.rules.guards import planning_error

    refusal = planning_error(
        status=case.status, status_label=case.get_status_display(), statuses=PLANNING_STATUSES
    )
    if refusal:
        raise InvalidTransition(refusal)


@transaction.atomic
def plan_set(
    *,
    actor,
    case: MonitoringCase,
    items: list[dict],
    reason: str = "",
    now: dt.datetime | None = None,
) -> list[AssistanceMeasure]:
    """Add measures to a case's plan, or re-plan measures already in it; all or nothing.

    Each item: ``measure`` (a ``Measure``, its id or its code; also ``measure_id`` /
    ``measure_code``), ``department`` (``Department``, id or code; default: the catalogue
    measure's department; ``None`` for none), ``responsible_person``, ``planned_start``,
    ``planned_end``, ``amount``, ``note``. An item whose measure is already planned or in
    progress in the case updates that row; otherwise a new planned measure is created.

    The resulting plan (every measure of the case that is not stopped) must pass
    :func:`monitoring.rules.plans.validate_plan`; if not, ``ValidationError({"plan": [...]})``
    lists every violation and nothing is saved.
    """
    require_role(actor, *PLANNING_ROLES)
    case = _lock_case(case)
    require_area(actor, case.area_code)
    _check_case_open_for_planning(case)
    at = now_or(now)
    cleaned = _clean_items(items, case.area_code)
    existing = _current_measures(case)
    open_by_measure = {
        am.measure_id: am
        for am in existing
        if am.status in (MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS)
    }
    _check_responsible(cleaned, open_by_measure)
    resulting = _distinct_measures([am.measure for am in existing] + [c["measure"] for c in cleaned])
    violations = plan_violations(case, resulting)
    if violations:
        raise ValidationError({"plan": [v.message for v in violations]})
    reason = (reason or "").strip()
    return [
        _save_item(case, c, open_by_measure.get(c["measure"].pk), actor=actor, reason=reason, at=at)
        for c in cleaned
    ]


def _clean_items(items: list[dict], area_code: str) -> list[dict]:
    """Every item resolved and checked, or ``ValidationError`` with every item's problems."""
    if not items:
        raise ValidationError({"items": _("请至少选择一项帮扶措施。")})
    errors: dict = {}
    cleaned = [_clean_item(i, item, area_code, errors) for i, item in enumerate(items)]
    codes = [c["measure"].code for c in cleaned if c]
    for i, c in enumerate(cleaned):
        if c and codes.count(c["measure"].code) > 1:
            errors[f"items-{i}-measure"] = _("措施「%(measure)s」重复选择。") % {"measure": c["measure"].name}
    if errors:
        raise ValidationError(errors)
    return cleaned


def _current_measures(case: MonitoringCase) -> list[AssistanceMeasure]:
    """The case's measures that are not stopped, locked."""
    return list(
        AssistanceMeasure.objects.select_for_update(of=("self",))
        .filter(case=case)
        .exclude(status=MeasureStatus.STOPPED)
        .select_related("measure__category")
    )


def _check_responsible(cleaned: list[dict], open_by_measure: dict) -> None:
    """Each measure, as it will be, has a responsible department or person."""
    errors = {}
    for i, c in enumerate(cleaned):
        am = open_by_measure.get(c["measure"].pk)
        department = c["department"] if am is None or "department" in c["given"] else am.department
        person = (
            c["responsible_person"]
            if am is None or "responsible_person" in c["given"]
            else am.responsible_person
        )
        if department is None and not person:
            errors[f"items-{i}-department"] = _("请指定责任部门或责任人。")
    if errors:
        raise ValidationError(errors)


def _save_item(case: MonitoringCase, c: dict, am: AssistanceMeasure | None, *, actor, reason, at):
    """A new planned measure, or the re-planned fields of one already in the plan."""
    if am is None:
        return _plan_measure(case, c, actor=actor, reason=reason, at=at)
    changed = _replan(am, c)
    if changed:
        am.save(update_fields=list(changed))
        record_change(
            obj=am,
            object_type="measure",
            action="replan",
            from_status=am.status,
            to_status=am.status,
            actor=actor,
            reason=reason or _("调整帮扶计划"),
            case=case,
            data={"measure": am.measure.code, "fields": sorted(changed)},
            at=at,
        )
    return am


def _plan_measure(case: MonitoringCase, c: dict, *, actor, reason, at) -> AssistanceMeasure:
    am = AssistanceMeasure.objects.create(
        case=case,
        measure=c["measure"],
        department=c["department"],
        responsible_person=c["responsible_person"],
        planned_start=c["planned_start"],
        planned_end=c["planned_end"],
        amount=c["amount"],
        note=c["note"],
        status=transitions.target(MEASURES, transitions.PLAN),
        created_by=actor if actor is not None and actor.pk else None,
    )
    record_bulk(
        MEASURES,
        transitions.PLAN,
        [am],
        object_type="measure",
        from_status=transitions.NEW,
        actor=actor,
        now=at,
        case=case,
        reason=reason or _("制定帮扶计划"),
        data={"measure": am.measure.code, "department": am.department.code if am.department else ""},
    )
    return am


def _replan(am: AssistanceMeasure, c: dict) -> set[str]:
    """Apply the planning fields an item gives to an existing row; the fields that changed."""
    given = c["given"]
    new = {
        name: c[name]
        for name in ("department", "responsible_person", "planned_start", "planned_end", "amount", "note")
        if name in given and getattr(am, name) != c[name]
    }
    for name, value in new.items():
        setattr(am, name, value)
    return set(new)


def measure_add(
    *,
    actor,
    case: MonitoringCase,
    measure,
    department=None,
    responsible_person: str = "",
    planned_start: dt.date | None = None,
    planned_end: dt.date | None = None,
    amount=None,
    note: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> AssistanceMeasure:
    """Add one measure to the plan (``department=None``: the catalogue measure's department)."""
    item = {
        "measure": measure,
        "responsible_person": responsible_person,
        "planned_start": planned_start,
        "planned_end": planned_end,
        "amount": amount,
        "note": note,
    }
    if department is not None:
        item["department"] = department
    return plan_set(actor=actor, case=case, items=[item], reason=reason, now=now)[0]


# ---------------------------------------------------------------------------------------------
# Measure (task) statuses
# ---------------------------------------------------------------------------------------------


def _lock_measure(measure: AssistanceMeasure) -> AssistanceMeasure:
    return (
        AssistanceMeasure.objects.select_for_update(of=("self",))
        .select_related("case", "measure", "department")
        .get(pk=measure.pk)
    )


def check_measure_actor(actor, am: AssistanceMeasure, action: str) -> None:
    """Who may act on a measure: :func:`monitoring.rules.guards.measure_actor_error`."""
    refusal = measure_actor_refusal(actor, am, action)
    if refusal:
        raise NotAllowed(refusal)


def measure_actor_refusal(actor, am: AssistanceMeasure, action: str) -> str | None:
    """Reads what the measure's actor guard needs (the person's area) and asks it."""
    from monitoring.rules.guards import measure_actor_error

    if actor is None:
        return None
    return measure_actor_error(
        action,
        role=actor.role,
        superuser=actor.is_superuser,
        covered=actor.covers(am.case.area_code),
        own_department=bool(actor.department_id) and actor.department_id == am.department_id,
        department=am.department.name if am.department_id is not None else None,
    )


def _check_status(am: AssistanceMeasure, action: str) -> None:
    why = transitions.measure_refusal(am.status, action)
    if why is not None:
        raise InvalidTransition(why)


def measure_transition(am: AssistanceMeasure, action: str, *, case, actor, now, reason: str = "", data=None):
    """Move a measure by ``action`` through the measure table and append its StatusChange row:
    the one way a measure status is written (callers save the row)."""
    apply_transition(
        am,
        MEASURES,
        action,
        object_type="measure",
        case=case,
        labels=None,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
        refusal=transitions.measure_refusal,
    )


@transaction.atomic
def measure_start(
    *, actor, measure: AssistanceMeasure, reason: str = "", now: dt.datetime | None = None
) -> AssistanceMeasure:
    """planned → in_progress."""
    am = _lock_measure(measure)
    check_measure_actor(actor, am, transitions.START)
    measure_transition(
        am,
        transitions.START,
        case=am.case,
        actor=actor,
        now=now_or(now),
        reason=reason or _("开始实施帮扶措施"),
    )
    am.save(update_fields=["status"])
    return am


@transaction.atomic
def measure_complete(
    *,
    actor,
    measure: AssistanceMeasure,
    actual_date: dt.date,
    amount=None,
    note: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> AssistanceMeasure:
    """planned / in_progress → implemented, with the date it was in place, the amount and a note."""
    at = now_or(now)
    am = _lock_measure(measure)
    check_measure_actor(actor, am, transitions.COMPLETE)
    _check_status(am, transitions.COMPLETE)
    errors: dict = {}
    day = coerce.date_field(
        {"actual_date": actual_date},
        "actual_date",
        errors,
        today=deadlines.local_date(at),
        allow_datetime=False,
        missing=_("请填写实际落实日期。"),
        future=_("实际落实日期不能晚于今天。"),
    )
    if day is not None and day < am.case.found_date:
        errors["actual_date"] = _("实际落实日期不能早于发现风险日期（%(date)s）。") % {
            "date": am.case.found_date
        }
    value = coerce.amount_field({"amount": amount}, "amount", errors)
    note = _note({"note": note}, errors)
    if errors:
        raise ValidationError(errors)
    am.actual_date = day
    if value is not None:
        am.amount = value
    if note:
        am.note = note
    measure_transition(
        am,
        transitions.COMPLETE,
        case=am.case,
        actor=actor,
        now=at,
        reason=reason or note or _("帮扶措施已落实"),
        data={"actual_date": day.isoformat(), "amount": str(am.amount) if am.amount is not None else ""},
    )
    am.save(update_fields=["status", "actual_date", "amount", "note"])
    return am


@transaction.atomic
def measure_stop(
    *, actor, measure: AssistanceMeasure, reason: str, now: dt.datetime | None = None
) -> AssistanceMeasure:
    """planned / in_progress → stopped, with the reason."""
    am = _lock_measure(measure)
    check_measure_actor(actor, am, transitions.STOP)
    _check_status(am, transitions.STOP)
    reason = require_reason(reason)
    measure_transition(am, transitions.STOP, case=am.case, actor=actor, now=now_or(now), reason=reason)
    am.save(update_fields=["status"])
    return am


def measure_actions(actor, am: AssistanceMeasure) -> dict[str, str | None]:
    """Each action → ``None`` when available, else why not: the person first, then the status,
    as the services check them."""
    return {
        action: measure_actor_refusal(actor, am, action) or transitions.measure_refusal(am.status, action)
        for action in transitions.MEASURE_ACTIONS
    }


# ---------------------------------------------------------------------------------------------
# The one-month deadline
# ---------------------------------------------------------------------------------------------


def measure_start_date(case: MonitoringCase) -> dt.date | None:
    """When the clock for "a measure in place" starts: identification, or the green channel."""
    return case.identified_on or case.provisional_on


def measure_due(
    *,
    start: dt.date | None,
    deadline_days: int,
    in_place: bool,
    now: dt.datetime,
    due_soon_days: int = 5,
) -> deadlines.Deadline:
    """Pure: due ``deadline_days`` calendar days after ``start``; done once a measure is in place."""
    if start is None:
        return deadlines.Deadline(deadlines.State.NONE, None, None)
    due = deadlines.add_days(start, deadline_days)
    return deadlines.deadline(due, now=now, done=in_place, due_soon_days=due_soon_days)


def measure_deadline(
    case: MonitoringCase, settings, now: dt.datetime, *, in_place: bool | None = None
) -> deadlines.Deadline:
    """Is "at least one measure in place (in progress or implemented)" met, near or missed?

    ``settings`` is the county's ``CountySettings`` (``measure_deadline_days``,
    ``due_soon_days``). ``in_place`` may be passed by a list that annotated it; otherwise
    it is read from the case's measures. Cases not under assistance have no such deadline.
    """
    if case.status not in MEASURE_DEADLINE_STATUSES:
        return deadlines.Deadline(deadlines.State.NONE, None, None)
    if in_place is None:
        in_place = case.measures.filter(status__in=plans.IN_PLACE).exists()
    return measure_due(
        start=measure_start_date(case),
        deadline_days=settings.measure_deadline_days,
        in_place=in_place,
        now=now,
        due_soon_days=settings.due_soon_days,
    )
