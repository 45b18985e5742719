"""Cases and their procedure steps: open, complete, reject, return, notices, objections,
green channel, identification, secured tracking.

One service moves a case and one moves a step. Each locks the case row, checks the
transition table, the actor's role and area and the guards, writes the new state and the due
dates, appends a StatusChange row, and bumps the case's version (optimistic check for pages
that pass ``expected_version``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import AreaLevel, Role
from households.models import Household, MonitoringCategory, MonitoringStatus
from monitoring.county import calendar_for, identification_limit, settings_for, threshold_for
from monitoring.models import (
    CaseStatus,
    CaseStep,
    Channel,
    Clue,
    MonitoringCase,
    Objection,
    ObjectionStatus,
    ProcedureKind,
    PublicNotice,
    RiskType,
    StepKind,
    StepStatus,
)
from monitoring.rules import deadlines, guards, steps, transitions
from monitoring.services.audit import (
    record_change,
    require_area,
    require_reason,
    require_role,
)
from monitoring.services.exit_check import completion_facts
from monitoring.services.exits import eliminate, exit_rejected
from monitoring.services.procedure import (
    STAFF,
    bump,
    case_transition,
    check_step_actor,
    feed_back,
    lock_case,
    lock_step,
    now_or,
    open_objections,
    set_household_status,
    start_procedure,
    step_transition,
    unlock_ready,
)
from monitoring.services.scoring import case_score


def _risk_meta() -> tuple[dict[str, str], set[str]]:
    rows = RiskType.objects.filter(is_active=True).values_list("code", "parent__code", "needs_subtype")
    roots = {code: parent or code for code, parent, _n in rows}
    return roots, {code for code, _p, needs in rows if needs}


def check_risk_types(codes, area_code: str) -> list[RiskType]:
    roots, needs = _risk_meta()
    err = guards.risk_types_error(
        codes, roots=roots, needs_subtype=needs, maximum=settings_for(area_code).max_risk_types
    )
    if err:
        raise ValidationError({"risk_type_codes": err})
    return list(RiskType.objects.filter(code__in=list(codes)))


# --- opening -------------------------------------------------------------------------------


@transaction.atomic
def case_open(
    *, actor, household: Household, clues: list[Clue], risk_type_codes=None, now: dt.datetime | None = None
) -> MonitoringCase:
    """Open an identification case for a household from its clue(s); the 15-day clock starts
    on the earliest clue's date."""
    now = now_or(now)
    require_role(actor, *STAFF)
    require_area(actor, household.area_code)
    household = Household.objects.select_for_update().get(pk=household.pk)
    existing = MonitoringCase.objects.open().filter(household=household).first()
    if existing:
        raise InvalidTransition(_("该户已有在办案件（#%(id)s），新线索将并入该案件。") % {"id": existing.pk})
    county_settings = settings_for(household.area_code)
    procedure = county_settings.identification_procedure
    if procedure is None:
        raise InvalidTransition(_("本县尚未设定识别程序，请联系系统管理员。"))
    if risk_type_codes is None:
        risk_type_codes = sorted({rt.code for clue in clues for rt in clue.risk_types.all()})
    risks = check_risk_types(risk_type_codes, household.area_code) if risk_type_codes else []
    if not risks:
        raise ValidationError({"risk_type_codes": _("至少选择一种风险类型。")})
    today = deadlines.local_date(now)
    found = min((c.found_date for c in clues), default=today)
    cal = calendar_for(household.area_code, county_settings)
    limit_days, limit_basis = identification_limit(county_settings)
    case = MonitoringCase.objects.create(
        household=household,
        area_code=household.area_code,
        status=CaseStatus.IDENTIFYING,
        procedure=procedure,
        found_date=found,
        opened_at=now,
        due_date=deadlines.add_days(found, limit_days, cal),
        limit_days=limit_days,
        limit_basis=limit_basis,
        created_by=actor if actor is not None else None,
    )
    case.risk_types.set(risks)
    record_change(
        obj=case,
        object_type="case",
        case=case,
        action="open",
        from_status="",
        to_status=case.status,
        actor=actor,
        at=now,
        data={"clues": [c.pk for c in clues]},
    )
    start_procedure(case, procedure, actor=actor, now=now)
    case_score(case, actor=actor, now=now)
    set_household_status(
        household,
        actor=actor,
        reason=_("启动识别程序"),
        now=now,
        monitoring_status=MonitoringStatus.IDENTIFYING,
    )
    return case


# --- step actions --------------------------------------------------------------------------


def step_guard(step: CaseStep, case: MonitoringCase, *, today: dt.date) -> str | None:
    """Why the step cannot be completed now (``None`` when it can): reads what
    :func:`monitoring.rules.guards.step_error` needs for the step's kind and asks it."""
    if step.kind == StepKind.VILLAGE_NOTICE:
        notice = PublicNotice.objects.filter(step=step).first()
        return guards.step_error(
            step.kind,
            today=today,
            notice_posted=notice is not None,
            notice_end=notice and notice.end_date,
            open_objections=open_objections(case),
        )
    if step.kind == StepKind.COUNTY_APPROVAL:
        pending = [
            s.name
            for s in case.steps.filter(
                procedure_kind=step.procedure_kind, status__in=[StepStatus.WAITING, StepStatus.AVAILABLE]
            ).exclude(pk=step.pk)
        ]
        return guards.step_error(
            step.kind, today=today, pending_steps=pending, open_objections=open_objections(case)
        )
    return None


@transaction.atomic
def step_complete(
    *,
    actor,
    step,
    data: dict | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> CaseStep:
    now = now_or(now)
    case, step = lock_step(step, expected_version=expected_version)
    check_step_actor(actor, step, case)
    err = transitions.transition_error(
        transitions.STEP_TRANSITIONS, "complete", step.status, lambda s: StepStatus(s).label
    )
    if err:
        raise InvalidTransition(err)
    today = deadlines.local_date(now)
    guard = step_guard(step, case, today=today)
    if guard:
        raise InvalidTransition(guard)
    county_settings = settings_for(case.area_code)
    clean, errors = steps.validate_step_data(
        step.kind,
        data or {},
        procedure_kind=step.procedure_kind,
        today=today,
        min_exit_cadres=county_settings.exit_min_home_check_cadres,
        **completion_facts(step, case, now=now),
    )
    if errors:
        raise ValidationError(errors)
    if clean.get("risk_type_codes"):
        case.risk_types.set(check_risk_types(clean["risk_type_codes"], case.area_code))
    is_final = step.kind == StepKind.COUNTY_APPROVAL
    if is_final and step.procedure_kind == ProcedureKind.IDENTIFICATION:
        _check_identification(case, clean, today=today)
    step_transition(step, "complete", actor=actor, now=now, reason=reason, data=clean)
    cal = calendar_for(case.area_code, county_settings)
    started = deadlines.local_date(step.available_at or now)
    step.completed_at, step.completed_by = now, actor
    step.duration_days = max(deadlines.days_between(started, today, cal), 0)
    step.data, step.reason = clean, reason
    step.save()
    if is_final and step.procedure_kind == ProcedureKind.IDENTIFICATION:
        _identify(case, clean, actor=actor, now=now)
    elif is_final and step.procedure_kind == ProcedureKind.EXIT:
        eliminate(case, actor=actor, now=now)
    else:
        unlock_ready(case, step.procedure_kind, actor=actor, now=now)
    bump(case)
    return step


def _check_identification(case: MonitoringCase, clean: dict, *, today: dt.date) -> None:
    err = guards.category_error(
        clean["category"], case.household.household_type, explanation=clean.get("explanation", "")
    )
    if err:
        raise ValidationError({"category": err})
    codes = list(case.risk_types.values_list("code", flat=True))
    check_risk_types(codes, case.area_code)


def identification_warnings(case: MonitoringCase, category: str, *, today: dt.date) -> list[str]:
    """Warnings (not refusals) for the approver: income above the line for the first two categories."""
    record = case.household.incomes.order_by("-year").first()
    threshold = threshold_for(case.area_code, record.year if record else today.year)
    warning = guards.category_warning(
        category, record and record.per_capita_net_income, threshold and threshold.amount
    )
    return [warning] if warning else []


def _identify(case: MonitoringCase, clean: dict, *, actor, now) -> None:
    today = deadlines.local_date(now)
    case_transition(case, "identify", actor=actor, now=now, data={"category": clean["category"]})
    case.category = clean["category"]
    case.identified_on, case.identified_at = today, now
    county_settings = settings_for(case.area_code)
    case.next_visit_due = deadlines.add_days(today, county_settings.visit_interval_days)
    set_household_status(
        case.household,
        actor=actor,
        reason=_("县级审定纳入监测"),
        now=now,
        monitoring_status=MonitoringStatus.MONITORED,
        monitoring_category=case.category,
        identified_on=today,
        eliminated_on=None,
    )
    feed_back(
        case, _("已纳入监测（%(category)s）") % {"category": MonitoringCategory(case.category).label}, now=now
    )


def _cancel_open_steps(case: MonitoringCase, procedure_kind: str, *, actor, now, reason: str) -> None:
    for other in case.steps.filter(
        procedure_kind=procedure_kind, status__in=[StepStatus.WAITING, StepStatus.AVAILABLE]
    ):
        other.case = case
        step_transition(other, "cancel", actor=actor, now=now, reason=reason)
        other.save(update_fields=["status"])


@transaction.atomic
def step_reject(
    *, actor, step, reason: str, now: dt.datetime | None = None, expected_version: int | None = None
) -> CaseStep:
    """不予通过 at any step: the identification ends (不予纳入) or the exit goes back to assistance."""
    now = now_or(now)
    reason = require_reason(reason)
    case, step = lock_step(step, expected_version=expected_version)
    check_step_actor(actor, step, case)
    _reject_step(case, step, actor=actor, reason=reason, now=now)
    return step


def _reject_step(case: MonitoringCase, step: CaseStep, *, actor, reason: str, now) -> None:
    """The rejection itself, on a locked case and step, once the actor has been checked."""
    step_transition(step, "reject", actor=actor, now=now, reason=reason)
    step.completed_at, step.completed_by, step.reason = now, actor, reason
    step.save()
    _cancel_open_steps(case, step.procedure_kind, actor=actor, now=now, reason=reason)
    if step.procedure_kind == ProcedureKind.IDENTIFICATION:
        _reject_case(case, reason=f"{step.name}：{reason}", actor=actor, now=now)
    else:
        exit_rejected(case, reason=f"{step.name}：{reason}", actor=actor, now=now)
    bump(case)


def _reject_case(case: MonitoringCase, *, reason: str, actor, now) -> None:
    was_provisional = case.status == CaseStatus.PROVISIONAL
    case_transition(case, "reject", actor=actor, now=now, reason=reason)
    case.rejected_at, case.decision_reason = now, reason
    case.save()  # free the household's one-open-case slot before anything else reads it
    previous = (
        MonitoringStatus.ELIMINATED
        if MonitoringCase.objects.filter(household=case.household, status=CaseStatus.ELIMINATED).exists()
        else MonitoringStatus.NONE
    )
    set_household_status(
        case.household, actor=actor, reason=_("不予纳入"), now=now, monitoring_status=previous
    )
    if was_provisional:
        _stop_unfinished_measures(case, actor=actor, now=now, reason=reason)
    feed_back(case, _("不予纳入：%(reason)s") % {"reason": reason}, now=now)


def _stop_unfinished_measures(case: MonitoringCase, *, actor, now, reason: str) -> None:
    """After a provisional case is rejected, assistance already given stays on record;
    what has not been carried out is stopped."""
    from monitoring.models import MeasureStatus
    from monitoring.services.assistance import measure_transition

    for measure in case.measures.filter(status__in=[MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS]):
        measure_transition(measure, transitions.STOP, case=case, actor=actor, now=now, reason=reason)
        measure.note = (measure.note + " " + _("不予纳入，停止实施")).strip()[:300]
        measure.save(update_fields=["status", "note"])


@transaction.atomic
def step_return(
    *, actor, step, reason: str, now: dt.datetime | None = None, expected_version: int | None = None
) -> CaseStep:
    """Send the case back to the steps this one waits for (退回), with a reason."""
    now = now_or(now)
    reason = require_reason(reason)
    case, step = lock_step(step, expected_version=expected_version)
    check_step_actor(actor, step, case)
    if step.kind not in transitions.RETURNABLE_KINDS:
        raise InvalidTransition(_("此步骤不能退回。"))
    predecessors = list(step.waits_for.all())
    if not predecessors:
        raise InvalidTransition(_("此步骤没有可退回的前置步骤。"))
    step_transition(step, "return", actor=actor, now=now, reason=reason)
    step.times_returned += 1
    step.reason = reason
    step.due_date = None
    step.save()
    county_settings = settings_for(case.area_code)
    cal = calendar_for(case.area_code, county_settings)
    today = deadlines.local_date(now)
    for pred in predecessors:
        pred.case = case
        if pred.status != StepStatus.DONE:
            continue
        step_transition(pred, "reopen", actor=actor, now=now, reason=reason)
        pred.available_at, pred.completed_at, pred.duration_days = now, None, None
        pred.due_date = deadlines.add_days(today, pred.time_limit_days, cal)
        pred.reason = reason
        pred.save()
        for follower in pred.enables.filter(status=StepStatus.AVAILABLE).exclude(pk=step.pk):
            follower.case = case
            step_transition(follower, "return", actor=actor, now=now, reason=_("前置步骤被退回"))
            follower.due_date = None
            follower.save(update_fields=["status", "due_date"])
    bump(case)
    return step


# --- notice and objections ----------------------------------------------------------------


#: How the household came to the village's attention, in the notice's words, by clue channel.
NOTICE_SOURCES = {
    Channel.SELF_REPORT: gettext_lazy("农户申请"),
    Channel.CADRE_SCREENING: gettext_lazy("排查发现"),
    Channel.DEPARTMENT_ALERT: gettext_lazy("部门预警"),
    Channel.SYSTEM: gettext_lazy("系统预警"),
    Channel.OTHER: gettext_lazy("群众反映"),
}


def notice_sources(case: MonitoringCase) -> list[str]:
    """The channels of the case's clues, in the order they were found, as the notice words them."""
    channels = case.clues.order_by("found_date", "id").values_list("channel", flat=True)
    return [str(NOTICE_SOURCES[c]) for c in dict.fromkeys(channels) if c in NOTICE_SOURCES]


def notice_text(case: MonitoringCase, *, start: dt.date, end: dt.date, exit_: bool) -> tuple[str, str]:
    """The notice's title and text: no ID number, phone, bank account or health detail.

    The text says how the household came to notice (its clues' channels: 农户申请, 排查发现,
    部门预警, ...) and proposes what the title announces."""
    household = case.household
    head = household.head.name if household.head_id else household.number
    members = household.members.filter(is_resident=True).count()
    village = household.village
    town = village.parent.name if village.parent_id else ""
    sources = [] if exit_ else notice_sources(case)
    if sources:
        basis = _("%(sources)s、入户核查和村民主评议") % {"sources": _("、").join(sources)}
    else:
        basis = _("入户核查和村民主评议")
    if exit_:
        title = _("%(village)s拟标注风险消除对象公示") % {"village": village.name}
        proposal = _("拟标注风险消除（%(mode)s）") % {"mode": case.get_exit_mode_display()}
    else:
        title = _("%(village)s拟纳入防止返贫致贫监测对象公示") % {"village": village.name}
        proposal = _("拟纳入防止返贫致贫监测对象")
    body = _(
        "经%(basis)s，现将以下农户予以公示：\n"
        "户主：%(head)s　家庭人口：%(members)s人　所在地：%(town)s%(village)s\n"
        "%(proposal)s。\n"
        "公示期：%(start)s至%(end)s。公示期内如有异议，请向村民委员会或乡镇人民政府反映。"
    ) % {
        "basis": basis,
        "head": head,
        "members": members,
        "town": town,
        "village": village.name,
        "proposal": proposal,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    return title, body


@transaction.atomic
def notice_post(
    *,
    actor,
    step,
    start_date: dt.date | None = None,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> PublicNotice:
    now = now_or(now)
    case, step = lock_step(step, expected_version=expected_version)
    check_step_actor(actor, step, case)
    if step.kind != StepKind.VILLAGE_NOTICE or step.status != StepStatus.AVAILABLE:
        raise InvalidTransition(_("当前不能发布公示。"))
    today = deadlines.local_date(now)
    start = start_date or today
    if start > today + dt.timedelta(days=7) or start < today - dt.timedelta(days=7):
        raise ValidationError({"start_date": _("公示开始日期应在今天前后7天内。")})
    opened = deadlines.local_date(step.available_at) if step.available_at else today
    if start < opened:
        # a notice of the review's result cannot have started before the review was done
        raise ValidationError(
            {
                "start_date": _("公示开始日期不能早于%(date)s（民主评议完成之日）。")
                % {"date": opened.isoformat()}
            }
        )
    notice = PublicNotice.objects.filter(step=step).first()
    if notice is not None and notice.objections.filter(status=ObjectionStatus.OPEN).exists():
        raise InvalidTransition(_("公示期间有未处理的异议，须先调查处理，不能重新发布公示。"))
    county_settings = settings_for(case.area_code)
    exit_ = step.procedure_kind == ProcedureKind.EXIT
    days = county_settings.exit_notice_days if exit_ else county_settings.notice_days
    end = start + dt.timedelta(days=days - 1)
    title, content = notice_text(case, start=start, end=end, exit_=exit_)
    if notice is None:
        notice = PublicNotice.objects.create(
            case=case,
            step=step,
            start_date=start,
            end_date=end,
            title=title,
            content=content,
            posted_by=actor,
        )
    else:
        # Posted again (e.g. after a return): a new period, the same record, so the objections
        # raised against the earlier posting stay on file.
        notice.start_date, notice.end_date, notice.title, notice.content = start, end, title, content
        notice.posted_by = actor
        notice.save()
        PublicNotice.objects.filter(pk=notice.pk).update(posted_at=now)
    record_change(
        obj=step,
        object_type="step",
        case=case,
        action="post_notice",
        from_status=step.status,
        to_status=step.status,
        actor=actor,
        at=now,
        data={"start": start.isoformat(), "end": end.isoformat()},
    )
    bump(case)
    return notice


@transaction.atomic
def objection_record(
    *,
    actor,
    notice: PublicNotice,
    raised_on: dt.date,
    content: str,
    raised_by: str = "",
    now: dt.datetime | None = None,
) -> Objection:
    now = now_or(now)
    case = lock_case(notice.case_id)
    require_role(actor, *STAFF)
    require_area(actor, case.area_code)
    step = CaseStep.objects.get(pk=notice.step_id)
    if step.status != StepStatus.AVAILABLE:
        raise InvalidTransition(_("公示已结束，不能再登记异议。"))
    errors = {}
    if isinstance(raised_on, str) and raised_on.strip():
        try:
            raised_on = dt.date.fromisoformat(raised_on.strip())
        except ValueError:
            raised_on = None
            errors["raised_on"] = _("日期格式不正确。")
    if not isinstance(raised_on, dt.date) or isinstance(raised_on, dt.datetime):
        errors.setdefault("raised_on", _("请填写异议提出日期。"))
    elif not (notice.start_date <= raised_on <= notice.end_date):
        errors["raised_on"] = _("异议须在公示期内提出（%(s)s至%(e)s）。") % {
            "s": notice.start_date.isoformat(),
            "e": notice.end_date.isoformat(),
        }
    elif raised_on > deadlines.local_date(now):
        errors["raised_on"] = _("日期不能晚于今天。")
    if not (content or "").strip():
        errors["content"] = _("请填写异议内容。")
    if errors:
        raise ValidationError(errors)
    objection = Objection.objects.create(
        case=case,
        notice=notice,
        raised_on=raised_on,
        raised_by=raised_by,
        content=content.strip(),
        recorded_by=actor,
    )
    record_change(
        obj=objection,
        object_type="objection",
        case=case,
        action="raise",
        from_status="",
        to_status=objection.status,
        actor=actor,
        at=now,
        reason=content,
    )
    bump(case)
    return objection


@transaction.atomic
def objection_resolve(
    *, actor, objection: Objection, upheld: bool, finding: str, now: dt.datetime | None = None
) -> Objection:
    """The village investigates: the case goes on (dismissed) or is rejected (upheld)."""
    now = now_or(now)
    finding = require_reason(finding, "finding")
    case = lock_case(objection.case_id)
    require_role(actor, Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)
    require_area(actor, case.area_code)
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    if objection.status != ObjectionStatus.OPEN:
        raise InvalidTransition(_("该异议已处理。"))
    old = objection.status
    objection.status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
    objection.finding, objection.resolved_by, objection.resolved_at = finding, actor, now
    objection.save()
    record_change(
        obj=objection,
        object_type="objection",
        case=case,
        action="resolve",
        from_status=old,
        to_status=objection.status,
        actor=actor,
        at=now,
        reason=finding,
    )
    step = CaseStep.objects.select_for_update().get(pk=objection.notice.step_id)
    step.case = case
    if upheld and step.status == StepStatus.AVAILABLE:
        # The notice step is the village's; an upheld objection ends it whoever investigated,
        # and the rejection is recorded as theirs.
        _reject_step(case, step, actor=actor, reason=_("公示异议成立：%(f)s") % {"f": finding}, now=now)
        record_change(
            obj=case,
            object_type="case",
            case=case,
            action="objection_upheld",
            from_status="",
            to_status="",
            actor=actor,
            at=now,
            reason=finding,
        )
    else:
        bump(case)
    return objection


# --- green channel, secured tracking ------------------------------------------------------


@transaction.atomic
def case_green_channel(
    *, actor, case, reason: str, now: dt.datetime | None = None, expected_version: int | None = None
) -> MonitoringCase:
    """绿色通道: disaster or accident — assistance starts now, the procedure runs on."""
    now = now_or(now)
    reason = require_reason(reason)
    case = lock_case(case.pk, expected_version=expected_version)
    if actor is not None:
        refusal = guards.green_channel_actor_error(
            has_role=actor.has_role(*guards.GREEN_CHANNEL_ROLES), covered=actor.covers(case.area_code)
        )
        if refusal:
            raise NotAllowed(refusal)
    if case.status == CaseStatus.IDENTIFYING:
        # any other status is refused by the transition table
        refusal = guards.green_channel_error(
            status=case.status, green_risk=case.risk_types.filter(green_channel=True).exists()
        )
        if refusal:
            raise InvalidTransition(refusal)
    case_transition(case, "green_channel", actor=actor, now=now, reason=reason)
    case.green_channel, case.provisional_on = True, deadlines.local_date(now)
    bump(case)
    return case


@transaction.atomic
def case_secure_tracking(
    *, actor, case, reason: str, now: dt.datetime | None = None, expected_version: int | None = None
) -> MonitoringCase:
    """A household without labour capacity on safety-net support is not eliminated: it is tracked."""
    now = now_or(now)
    reason = require_reason(reason)
    case = lock_case(case.pk, expected_version=expected_version)
    if actor is not None:
        refusal = guards.secure_tracking_actor_error(
            has_role=actor.has_role(*guards.SECURE_TRACKING_ROLES), covered=actor.covers(case.area_code)
        )
        if refusal:
            raise NotAllowed(refusal)
    refusal = guards.secure_tracking_error(no_labour_safety_net=case.household.no_labour_safety_net)
    if refusal:
        raise InvalidTransition(refusal)
    case_transition(case, "secure_tracking", actor=actor, now=now, reason=reason)
    set_household_status(
        case.household,
        actor=actor,
        reason=reason,
        now=now,
        monitoring_status=MonitoringStatus.SECURED_TRACKING,
    )
    bump(case)
    return case


ESCALATION = {
    AreaLevel.VILLAGE: AreaLevel.TOWNSHIP,
    AreaLevel.TOWNSHIP: AreaLevel.COUNTY,
    AreaLevel.COUNTY: AreaLevel.COUNTY,
}
