"""Risk elimination (风险消除): proposal with its eligibility check, the exit procedure, and
its two endings (eliminated, or back to assistance)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import Role
from accounts.texts import join_list
from households.models import MonitoringStatus
from monitoring.county import calendar_for, settings_for
from monitoring.models import CaseStatus, ExitAssessment, ExitMode, StatusChange
from monitoring.rules import deadlines, guards
from monitoring.rules.eligibility import eligibility_for_case
from monitoring.services.procedure import (
    bump,
    case_transition,
    feed_back,
    lock_case,
    set_household_status,
    start_procedure,
)

PROPOSERS = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)


def _criteria(case, *, today: dt.date, mode: str) -> list[dict]:
    result = eligibility_for_case(case, today=today, mode=mode)
    criteria = getattr(result, "criteria", result)
    return [
        {
            "code": c["code"] if isinstance(c, dict) else c.code,
            "label": str(c["label"] if isinstance(c, dict) else c.label),
            "ok": bool(c["ok"] if isinstance(c, dict) else c.ok),
            "detail": str((c.get("detail") if isinstance(c, dict) else c.detail) or ""),
        }
        for c in criteria
    ]


def exit_check(case, *, mode: str, now: dt.datetime | None = None) -> list[dict]:
    """The eligibility checklist the page shows before a proposal."""
    return _criteria(case, today=deadlines.local_date(now or timezone.now()), mode=mode)


@transaction.atomic
def exit_propose(
    *,
    actor,
    case,
    mode: str,
    source: str = "village",
    override_reason: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
):
    """Propose elimination; refused with every failing criterion named unless a county
    approver overrides with a written reason (kept with the assessment)."""
    now = now or timezone.now()
    today = deadlines.local_date(now)
    case = lock_case(case.pk, expected_version=expected_version)
    if actor is not None:
        refusal = guards.exit_proposer_error(
            has_role=actor.has_role(*PROPOSERS), covered=actor.covers(case.area_code)
        )
        if refusal:
            raise NotAllowed(refusal)
    if mode not in ExitMode.values:
        raise ValidationError({"mode": _("请选择风险消除方式。")})
    if case.status not in (CaseStatus.MONITORED, CaseStatus.SECURED_TRACKING):
        raise InvalidTransition(_("只有监测帮扶中的户可以提出风险消除。"))
    household = case.household
    if mode == ExitMode.ASSISTANCE and household.no_labour_safety_net:
        raise InvalidTransition(_("整户无劳动能力兜底保障户不能帮扶消除，应转为兜底保障跟踪。"))
    checks = _criteria(case, today=today, mode=mode)
    failing = [c for c in checks if not c["ok"]]
    override_reason = (override_reason or "").strip()
    if failing and not override_reason:
        names = join_list(
            (
                _("%(detail)s（%(source)s）") % {"detail": c["label"], "source": c["detail"]}
                if c["detail"]
                else c["label"]
                for c in failing
            ),
            "；",
            "; ",
        )
        raise InvalidTransition(
            _("不符合风险消除条件：%(names)s") % {"names": names}, fields={"criteria": failing}
        )
    if failing and actor is not None and not actor.has_role(Role.COUNTY_APPROVER):
        raise NotAllowed(_("不符合条件时，只有县级审定人员可以特批并说明理由。"))
    ExitAssessment.objects.create(
        case=case,
        mode=mode,
        source=source,
        assessed_on=today,
        checks=checks,
        eligible=not failing,
        override_reason=override_reason if failing else "",
        proposed_by=actor,
    )
    county_settings = settings_for(case.area_code)
    procedure = county_settings.exit_procedure
    if procedure is None:
        raise InvalidTransition(_("本县尚未设定风险消除程序，请联系系统管理员。"))
    case_transition(
        case,
        "start_exit",
        actor=actor,
        now=now,
        reason=override_reason,
        data={"mode": mode, "override": bool(failing)},
    )
    cal = calendar_for(case.area_code, county_settings)
    case.exit_procedure, case.exit_mode, case.exit_started_on = procedure, mode, today
    case.exit_due_date = deadlines.add_days(today, procedure.time_limit_days or procedure.planned_days(), cal)
    case.save()
    start_procedure(case, procedure, actor=actor, now=now)
    bump(case)
    return case


def eliminate(case, *, actor, now) -> None:
    """County approval of the exit: the household leaves the key monitoring ledger."""
    today = deadlines.local_date(now)
    case_transition(case, "eliminate", actor=actor, now=now, data={"mode": case.exit_mode})
    case.eliminated_on = today
    case.next_visit_due = None
    set_household_status(
        case.household,
        actor=actor,
        reason=_("风险消除"),
        now=now,
        monitoring_status=MonitoringStatus.ELIMINATED,
        eliminated_on=today,
    )
    feed_back(case, _("风险已消除（%(mode)s）") % {"mode": ExitMode(case.exit_mode).label}, now=now)


def exit_rejected(case, *, reason: str, actor, now) -> None:
    """An exit step said no: the household goes back to where it was before the proposal."""
    before = (
        StatusChange.objects.filter(
            object_type="case",
            object_id=case.pk,
            action="start_exit",
            to_status=CaseStatus.EXIT_IN_PROGRESS,
        )
        .order_by("-at", "-id")
        .values_list("from_status", flat=True)
        .first()
    )
    action = "exit_rejected_secured" if before == CaseStatus.SECURED_TRACKING else "exit_rejected"
    case_transition(case, action, actor=actor, now=now, reason=reason)
    case.exit_mode, case.exit_started_on, case.exit_due_date = "", None, None
    case.save()
