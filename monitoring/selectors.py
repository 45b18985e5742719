"""Reads that are more than a ``get``: what a person may do on a case now, and why not; the
case's deadlines.

:func:`case_actions` is the one answer to "what may this person do here, and why not": every
action on the case's open steps, on the case itself, on its running notice, its open objections
and its measures, each a :class:`CaseOption` that is allowed or carries the reason it is not.
The reasons come from the pure guards in :mod:`monitoring.rules.guards`, asked in the order the
services ask them (the person, then the state), so a disabled option says what the service would
say if it were tried. The case page and the plan and exit pages render this list; the API renders
its workflow part (:func:`available_actions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from monitoring.county import calendar_for, settings_for
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    CaseStep,
    MonitoringCase,
    Objection,
    ObjectionStatus,
    PublicNotice,
    StepKind,
    StepStatus,
)
from monitoring.rules import deadlines, guards, transitions
from monitoring.services.assistance import PLANNING_ROLES, PLANNING_STATUSES, measure_actions
from monitoring.services.exits import PROPOSERS
from monitoring.services.procedure import STAFF

#: What a :class:`CaseOption` acts on.
Target = Literal["step", "case", "notice", "objection", "measure"]
#: The actions of the procedure itself, which the API lists as ``available_actions``.
WORKFLOW_ACTIONS = frozenset(
    {"post_notice", "complete", "return", "reject", "green_channel", "secure_tracking", "propose_exit"}
)
#: Case statuses in which each case-level action is offered (the transition table says the rest).
GREEN_CHANNEL_STATUSES = (CaseStatus.IDENTIFYING,)
SECURE_TRACKING_STATUSES = (CaseStatus.MONITORED,)
EXIT_STATUSES = (CaseStatus.MONITORED, CaseStatus.SECURED_TRACKING)


@dataclass(frozen=True, slots=True)
class CaseOption:
    """One thing a person could do on a case now: ``allowed``, or not with the ``reason``.

    ``target`` / ``target_id``: what the action is on — a step, the case, a notice, an
    objection or a measure, and its id. ``step_id``: the step the action concerns (a step's
    own id; a notice's step), which also chooses the form to complete it. ``subject``: what a
    page shows before the label — the step's name, the notice's step, the objection's date and
    author, the measure's name (empty for the case).
    """

    action: str
    target: Target
    target_id: int | None
    label: str
    allowed: bool
    reason: str = ""
    step_id: int | None = None
    subject: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _option(action, target, target_id, label, refusal, *, step_id=None, subject="") -> CaseOption:
    return CaseOption(
        action=action,
        target=target,
        target_id=target_id,
        label=str(label),
        allowed=refusal is None,
        reason=str(refusal) if refusal else "",
        step_id=step_id,
        subject=str(subject),
    )


@dataclass
class _Facts:
    """What the guards need, read once for the whole list."""

    case: MonitoringCase
    user: object
    today: dt.date
    covered: bool
    notices: list[PublicNotice]
    objections: list[Objection]

    @property
    def open_objections(self) -> int:
        return sum(1 for o in self.objections if o.status == ObjectionStatus.OPEN)

    def has_role(self, *roles) -> bool:
        return self.user.has_role(*roles)


# --- steps ------------------------------------------------------------------------------------


def _open_steps(case: MonitoringCase) -> list[CaseStep]:
    steps = list(
        case.steps.filter(status__in=[StepStatus.AVAILABLE, StepStatus.WAITING])
        .order_by("procedure_kind", "sort_order")
        .prefetch_related("waits_for")
    )
    for step in steps:
        step.case = case
    return steps


def _complete_error(step: CaseStep, steps: list[CaseStep], facts: _Facts) -> str | None:
    """What :func:`monitoring.services.cases.step_guard` reads, from what the list has."""
    notice = next((n for n in facts.notices if n.step_id == step.pk), None)
    pending = [s.display_name for s in steps if s.procedure_kind == step.procedure_kind and s.pk != step.pk]
    return guards.step_error(
        step.kind,
        today=facts.today,
        notice_posted=notice is not None,
        notice_end=notice and notice.end_date,
        open_objections=facts.open_objections,
        pending_steps=pending,
    )


def _step_options(step: CaseStep, steps: list[CaseStep], facts: _Facts) -> list[CaseOption]:
    who = guards.step_actor_error(
        covered=facts.covered,
        has_role=facts.has_role(step.actor_role),
        role_label=Role(step.actor_role).label,
    )

    def option(action, label, refusal):
        return _option(action, "step", step.pk, label, refusal, step_id=step.pk, subject=step.display_name)

    if step.status == StepStatus.WAITING:
        # Shown disabled, with what it waits for (e.g. approval while the notice runs).
        pending = [s.display_name for s in step.waits_for.all() if s.status != StepStatus.DONE]
        if not pending:
            return []
        return [option("complete", _("办结"), who or guards.waiting_error(pending))]
    options = []
    if step.kind == StepKind.VILLAGE_NOTICE and not any(n.step_id == step.pk for n in facts.notices):
        options.append(option("post_notice", _("发布公示"), who))
    options.append(option("complete", _("办结"), who or _complete_error(step, steps, facts)))
    if step.kind in transitions.RETURNABLE_KINDS and step.waits_for.exists():
        options.append(option("return", _("退回"), who))
    options.append(option("reject", _("不予通过"), who))
    return options


# --- the case ---------------------------------------------------------------------------------


def _case_options(facts: _Facts) -> list[CaseOption]:
    case, options = facts.case, []

    def option(action, label, refusal):
        options.append(_option(action, "case", case.pk, label, refusal))

    if case.status in GREEN_CHANNEL_STATUSES:
        refusal = guards.green_channel_actor_error(
            has_role=facts.has_role(*guards.GREEN_CHANNEL_ROLES), covered=facts.covered
        ) or guards.green_channel_error(
            status=case.status, green_risk=case.risk_types.filter(green_channel=True).exists()
        )
        option("green_channel", _("绿色通道先行帮扶"), refusal)
    if case.status in SECURE_TRACKING_STATUSES:
        refusal = guards.secure_tracking_actor_error(
            has_role=facts.has_role(*guards.SECURE_TRACKING_ROLES), covered=facts.covered
        ) or guards.secure_tracking_error(no_labour_safety_net=case.household.no_labour_safety_net)
        option("secure_tracking", _("转为兜底保障跟踪"), refusal)
    if case.status in EXIT_STATUSES:
        refusal = guards.exit_proposer_error(has_role=facts.has_role(*PROPOSERS), covered=facts.covered)
        option("propose_exit", _("提出风险消除"), refusal)
    refusal = guards.staff_error(
        has_role=facts.has_role(*PLANNING_ROLES), covered=facts.covered
    ) or guards.planning_error(
        status=case.status, status_label=case.get_status_display(), statuses=PLANNING_STATUSES
    )
    option("set_plan", _("制定帮扶计划"), refusal)
    return options


# --- notices, objections, measures ------------------------------------------------------------


def _notice_options(facts: _Facts) -> list[CaseOption]:
    """登记异议 while a notice runs (its step is open)."""
    who = guards.staff_error(has_role=facts.has_role(*STAFF), covered=facts.covered)
    return [
        _option(
            "record_objection",
            "notice",
            notice.pk,
            _("登记异议"),
            who,
            step_id=notice.step_id,
            subject=notice.step.display_name,
        )
        for notice in facts.notices
        if notice.step.status == StepStatus.AVAILABLE
    ]


def _objection_options(facts: _Facts) -> list[CaseOption]:
    who = guards.staff_error(has_role=facts.has_role(*STAFF), covered=facts.covered)
    return [
        _option(
            "resolve_objection",
            "objection",
            objection.pk,
            _("处理异议"),
            who,
            subject=f"{objection.raised_on:%Y-%m-%d} {objection.raised_by}".strip(),
        )
        for objection in facts.objections
        if objection.status == ObjectionStatus.OPEN
    ]


MEASURE_LABELS = {
    transitions.START: gettext_lazy("开始实施帮扶措施"),
    transitions.COMPLETE: gettext_lazy("帮扶措施已落实"),
    transitions.STOP: gettext_lazy("终止帮扶措施"),
}


def _measure_options(am: AssistanceMeasure, facts: _Facts) -> list[CaseOption]:
    """Start, complete, stop: the person, then the measure's status (as the services check)."""
    am.case = facts.case
    return [
        _option(
            f"measure_{action}",
            "measure",
            am.pk,
            MEASURE_LABELS[action],
            refusal,
            subject=am.measure.display_name,
        )
        for action, refusal in measure_actions(facts.user, am).items()
    ]


# --- the list -----------------------------------------------------------------------------------


def _facts(case, user, *, now, notices=None, objections=None) -> _Facts:
    return _Facts(
        case=case,
        user=user,
        today=deadlines.local_date(now),
        covered=user.covers(case.area_code),
        notices=list(notices if notices is not None else case.notices.select_related("step")),
        objections=list(objections if objections is not None else case.objections.all()),
    )


def case_actions(
    case: MonitoringCase,
    user,
    *,
    now: dt.datetime,
    notices: Iterable[PublicNotice] | None = None,
    objections: Iterable[Objection] | None = None,
    measures: Iterable[AssistanceMeasure] | None = None,
) -> list[CaseOption]:
    """Every action the workflow knows for this case now, allowed or with the reason it is not.

    In order: the open steps' (by procedure and step order), the case's (green channel, secured
    tracking, exit proposal, the plan), the running notice's, the open objections', the
    measures'. ``notices`` (with their steps), ``objections`` and ``measures`` (with their
    catalogue measure and department) may be passed when the caller has them already, to save
    the queries. The services check all of it again.
    """
    facts = _facts(case, user, now=now, notices=notices, objections=objections)
    measures = list(
        measures if measures is not None else case.measures.select_related("measure", "department")
    )
    steps = _open_steps(case)
    options = [option for step in steps for option in _step_options(step, steps, facts)]
    options += _case_options(facts)
    options += _notice_options(facts)
    options += _objection_options(facts)
    options += [option for am in measures for option in _measure_options(am, facts)]
    return options


def case_option(case: MonitoringCase, user, action: str, *, now: dt.datetime) -> CaseOption | None:
    """The option for one case-level ``action`` (``propose_exit``, ``set_plan``…) if it is
    offered: the same as in :func:`case_actions`, without reading the steps, notices and
    measures it does not need."""
    facts = _facts(case, user, now=now, notices=(), objections=())
    return next((o for o in _case_options(facts) if o.action == action), None)


def available_actions(case: MonitoringCase, user, *, now: dt.datetime | None = None) -> list[dict]:
    """The API's ``available_actions``: the procedure's part of :func:`case_actions` (its steps
    and the case's green channel, secured tracking and exit proposal), one dict each with
    ``action``, ``label``, ``step``, ``step_name``, ``allowed`` and ``reason``."""
    return [
        {
            "action": o.action,
            "label": o.label,
            "step": o.step_id,
            "step_name": o.subject if o.target == "step" else "",
            "allowed": o.allowed,
            "reason": o.reason,
        }
        for o in case_actions(case, user, now=now or timezone.now())
        if o.action in WORKFLOW_ACTIONS
    ]


# --- deadlines ----------------------------------------------------------------------------------


def case_deadlines(case: MonitoringCase, *, now: dt.datetime | None = None) -> dict:
    """The case's own deadline and each open step's, from the one deadline function."""
    now = now or timezone.now()
    county_settings = settings_for(case.area_code)
    cal = calendar_for(case.area_code, county_settings)
    soon = county_settings.due_soon_days
    identifying = case.status in (CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL)
    result = {
        "case": deadlines.deadline(
            case.due_date,
            now=now,
            done=not identifying and case.identified_on is not None or not case.is_open,
            due_soon_days=soon,
            calendar=cal,
        ),
        "exit": deadlines.deadline(
            case.exit_due_date,
            now=now,
            done=case.status != CaseStatus.EXIT_IN_PROGRESS,
            due_soon_days=soon,
            calendar=cal,
        ),
        "steps": {},
    }
    for step in case.steps.all():
        if step.status in (StepStatus.AVAILABLE, StepStatus.DONE):
            result["steps"][step.pk] = deadlines.deadline(
                step.due_date,
                now=now,
                done=step.status == StepStatus.DONE,
                due_soon_days=deadlines.step_due_soon_days(soon),
                calendar=cal,
            )
    return result
