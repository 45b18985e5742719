"""Reads that are more than a ``get``: what a person may do next on a case, and why not."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from monitoring.county import calendar_for, settings_for
from monitoring.models import CaseStatus, CaseStep, MonitoringCase, StepKind, StepStatus
from monitoring.rules import deadlines, transitions
from monitoring.services.cases import green_channel_error, step_guard


def _actor_error(user, step: CaseStep, case: MonitoringCase) -> str | None:
    if not user.covers(case.area_code):
        return _("该农户不在您的工作区域内。")
    if not user.has_role(step.actor_role):
        return _("此步骤由%(role)s办理。") % {"role": Role(step.actor_role).label}
    return None


def available_actions(case: MonitoringCase, user, *, now: dt.datetime | None = None) -> list[dict]:
    """Every action the workflow knows for this case now, with ``allowed`` and, if not, ``reason``.

    Pages show the allowed ones as buttons and the others disabled with their reason; the
    API returns the same list. The services check all of it again.
    """
    now = now or timezone.now()
    today = deadlines.local_date(now)
    actions: list[dict] = []

    def add(action, label, error, step=None):
        actions.append(
            {
                "action": action,
                "label": str(label),
                "step": step.pk if step else None,
                "step_name": step.name if step else "",
                "allowed": error is None,
                "reason": str(error) if error else "",
            }
        )

    steps = (
        case.steps.filter(status__in=[StepStatus.AVAILABLE, StepStatus.WAITING])
        .order_by("procedure_kind", "sort_order")
        .prefetch_related("waits_for")
    )
    for step in steps:
        step.case = case
        who = _actor_error(user, step, case)
        if step.status == StepStatus.WAITING:
            # Shown disabled, with what it waits for (e.g. approval while the notice runs).
            pending = [s.name for s in step.waits_for.all() if s.status != StepStatus.DONE]
            if not pending:
                continue
            add(
                "complete",
                _("办结"),
                who or _("须待以下步骤完成：%(steps)s。") % {"steps": "、".join(pending)},
                step,
            )
            continue
        if step.kind == StepKind.VILLAGE_NOTICE and not hasattr(step, "notice"):
            add("post_notice", _("发布公示"), who, step)
        add("complete", _("办结"), who or step_guard(step, case, today=today), step)
        if step.kind in transitions.RETURNABLE_KINDS and step.waits_for.exists():
            add("return", _("退回"), who, step)
        add("reject", _("不予通过"), who, step)

    staff_county = user.has_role(Role.COUNTY_APPROVER) and user.covers(case.area_code)
    staff_review = user.has_role(Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER) and user.covers(case.area_code)
    if case.status == CaseStatus.IDENTIFYING:
        err = green_channel_error(case) or (None if staff_review else _("须由乡镇或县级人员办理。"))
        add("green_channel", _("绿色通道先行帮扶"), err)
    if case.status == CaseStatus.MONITORED:
        err = (
            None
            if case.household.no_labour_safety_net
            else _("只有整户无劳动能力兜底保障户转为兜底保障跟踪。")
        )
        add(
            "secure_tracking",
            _("转为兜底保障跟踪"),
            err or (None if staff_county else _("须由县级人员办理。")),
        )
    if case.status in (CaseStatus.MONITORED, CaseStatus.SECURED_TRACKING):
        can = user.has_role(Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)
        add(
            "propose_exit",
            _("提出风险消除"),
            None if can and user.covers(case.area_code) else _("无权提出。"),
        )
    return actions


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
