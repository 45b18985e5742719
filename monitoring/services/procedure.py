"""The procedure machinery every case service shares: lock a case, move a case or step through
its table (:func:`monitoring.services.audit.apply_transition`), bump the version, copy a
procedure definition onto a case and open the steps whose prerequisites are done.

``cases`` (identification) and ``exits`` (risk elimination) both build on this module; neither
imports the other's internals.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import Conflict, InvalidTransition, NotAllowed
from accounts.models import Role
from households.models import Household
from monitoring.county import calendar_for, settings_for
from monitoring.models import (
    CaseStatus,
    CaseStep,
    Clue,
    MonitoringCase,
    ObjectionStatus,
    ProcedureDefinition,
    StepStatus,
)
from monitoring.rules import deadlines, guards, transitions
from monitoring.services import ledgers
from monitoring.services.audit import apply_transition, record_change

STAFF = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)


def now_or(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def lock_case(case_id: int, *, expected_version: int | None = None) -> MonitoringCase:
    case = MonitoringCase.objects.select_for_update().select_related("household").get(pk=case_id)
    if expected_version is not None and case.version != expected_version:
        raise Conflict(_("该案件刚被他人更新，请刷新页面后再办理。"))
    return case


def case_transition(case, action, *, actor, now, reason="", data=None) -> None:
    before = case.status
    apply_transition(
        case,
        transitions.CASE_TRANSITIONS,
        action,
        object_type="case",
        case=case,
        labels=lambda s: CaseStatus(s).label,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
    )
    if CaseStatus.EXIT_IN_PROGRESS in (before, case.status):
        # the exit procedure keeps a household in ledger 1: its ledgers change now
        MonitoringCase.objects.filter(pk=case.pk).update(status=case.status)
        ledgers.sync_household(case.household_id, at=now)


def step_transition(step, action, *, actor, now, reason="", data=None) -> None:
    apply_transition(
        step,
        transitions.STEP_TRANSITIONS,
        action,
        object_type="step",
        case=step.case,
        labels=lambda s: StepStatus(s).label,
        actor=actor,
        now=now,
        reason=reason,
        data=data,
    )


def bump(case: MonitoringCase) -> None:
    case.version += 1
    case.save()


def set_household_status(household: Household, *, actor, reason: str, now: dt.datetime, **fields) -> None:
    """Write the monitoring fields of the household; its history row (and so its ledger spans,
    :mod:`monitoring.services.ledgers`) carry the procedure's ``now``."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    for name, value in fields.items():
        setattr(household, name, value)
    household._history_user = actor
    household._change_reason = reason
    household._history_date = now
    household.save(update_fields=[*fields, "updated_at"])


def feed_back(case: MonitoringCase, outcome: str, *, now) -> None:
    """Tell every clue of the case (and so its source) how it ended."""
    Clue.objects.filter(case=case).update(outcome=outcome[:300], outcome_at=now)


# --- procedure instantiation ---------------------------------------------------------------


def start_procedure(case: MonitoringCase, procedure: ProcedureDefinition, *, actor, now) -> list[CaseStep]:
    """Copy the procedure's steps onto the case and open those that wait for nothing."""
    definitions = list(procedure.steps.prefetch_related("waits_for"))
    if not definitions:
        raise InvalidTransition(_("程序“%(name)s”没有定义步骤。") % {"name": procedure.name})
    made = {
        d.pk: CaseStep(
            case=case,
            definition=d,
            procedure_kind=procedure.kind,
            code=d.code,
            name=d.name,
            name_en=d.name_en,
            kind=d.kind,
            actor_role=d.actor_role,
            area_level=d.area_level,
            time_limit_days=d.time_limit_days,
            sort_order=d.sort_order,
            status=StepStatus.WAITING,
        )
        for d in definitions
    }
    CaseStep.objects.bulk_create(made.values())
    through = CaseStep.waits_for.through
    through.objects.bulk_create(
        [
            through(from_casestep_id=made[d.pk].pk, to_casestep_id=made[w.pk].pk)
            for d in definitions
            for w in d.waits_for.all()
        ]
    )
    record_change(
        obj=case,
        object_type="case",
        case=case,
        # not "start_exit": that is the case's own transition, which exit_rejected looks up
        action=f"start_{procedure.kind}_procedure",
        from_status=case.status,
        to_status=case.status,
        actor=actor,
        at=now,
        data={"procedure": procedure.name},
    )
    unlock_ready(case, procedure.kind, actor=actor, now=now)
    return list(made.values())


def unlock_ready(case: MonitoringCase, procedure_kind: str, *, actor, now) -> None:
    """Open every waiting step whose prerequisite steps are all done."""
    county_settings = settings_for(case.area_code)
    cal = calendar_for(case.area_code, county_settings)
    today = deadlines.local_date(now)
    waiting = case.steps.filter(procedure_kind=procedure_kind, status=StepStatus.WAITING).prefetch_related(
        "waits_for"
    )
    for step in waiting:
        if all(dep.status == StepStatus.DONE for dep in step.waits_for.all()):
            step.case = case
            step_transition(step, "unlock", actor=actor, now=now)
            step.available_at = now
            step.due_date = deadlines.add_days(today, step.time_limit_days, cal)
            step.save(update_fields=["status", "available_at", "due_date"])


def lock_step(step: CaseStep | int, *, expected_version=None) -> tuple[MonitoringCase, CaseStep]:
    step_id = step.pk if isinstance(step, CaseStep) else step
    case_id = CaseStep.objects.values_list("case_id", flat=True).get(pk=step_id)
    case = lock_case(case_id, expected_version=expected_version)
    step = CaseStep.objects.select_for_update().get(pk=step_id)
    step.case = case
    return case, step


def check_step_actor(actor, step: CaseStep, case: MonitoringCase) -> None:
    if actor is None:
        return
    refusal = guards.step_actor_error(
        covered=actor.covers(case.area_code),
        has_role=actor.has_role(step.actor_role),
        role_label=Role(step.actor_role).label,
    )
    if refusal:
        raise NotAllowed(refusal)


def open_objections(case: MonitoringCase) -> int:
    return case.objections.filter(status=ObjectionStatus.OPEN).count()
