"""One action on a case → the one service that does it, for every entry point.

Callers (the case, plan and exit pages' forms; ``monitoring/api/staff.py`` after its serializers
have parsed the JSON) hand :func:`run` values that are already parsed — dates as ``date``,
numbers as numbers — and it:

1. locks the case row and checks ``expected_version`` (a stale page gets ``Conflict``) in the
   same transaction as the service call, so every action, with or without its own version check,
   is refused when someone else changed the case first;
2. finds the step / notice / objection / measure *of this case* the action names (another
   case's id is a field error, never a way round the case's area check);
3. calls the service, which checks the role, the area, the transition table and the guards again.

What a person may do on a case, and why not, is :func:`monitoring.selectors.case_actions`: the
same guards the services check, asked in the same order. This module also runs clue triage over
several clues at once (:func:`clues_bulk`), each clue in its own transaction and reported as done
or refused with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.errors import InvalidTransition, ServiceError, ValidationError
from accounts.texts import join_list
from monitoring.models import (
    AssistanceMeasure,
    Clue,
    MonitoringCase,
    PublicNotice,
    StepStatus,
)
from monitoring.services import assistance, cases, clues, exits

#: Actions on one step of the case (``step`` is required).
STEP_ACTIONS = frozenset({"complete", "reject", "return", "post_notice"})
#: Actions on one assistance measure of the case (``data["measure"]`` is required).
MEASURE_ACTIONS = frozenset({"measure_start", "measure_complete", "measure_stop"})


@dataclass
class CaseAction:
    """What the caller parsed: the case, who acts, what on, with which values."""

    case: MonitoringCase
    user: object
    action: str
    step_id: int | None = None
    data: dict = field(default_factory=dict)
    reason: str = ""
    now: dt.datetime | None = None

    def step(self):
        step = self.case.steps.filter(pk=self.step_id).first() if self.step_id else None
        if step is None:
            raise ValidationError({"step": _("该步骤不属于此案件。")})
        return step

    def measure(self) -> AssistanceMeasure:
        measure_id = self.data.get("measure")
        measure = self.case.measures.filter(pk=measure_id).first() if measure_id else None
        if measure is None:
            raise ValidationError({"measure": _("该帮扶措施不属于此案件。")})
        return measure


# --- the handlers: one service call each ------------------------------------------------------


def _complete(a: CaseAction):
    return cases.step_complete(actor=a.user, step=a.step(), data=a.data, reason=a.reason, now=a.now)


def _reject(a: CaseAction):
    return cases.step_reject(actor=a.user, step=a.step(), reason=a.reason, now=a.now)


def _return(a: CaseAction):
    return cases.step_return(actor=a.user, step=a.step(), reason=a.reason, now=a.now)


def _post_notice(a: CaseAction):
    return cases.notice_post(actor=a.user, step=a.step(), start_date=a.data.get("start_date"), now=a.now)


def _green_channel(a: CaseAction):
    return cases.case_green_channel(actor=a.user, case=a.case, reason=a.reason, now=a.now)


def _secure_tracking(a: CaseAction):
    return cases.case_secure_tracking(actor=a.user, case=a.case, reason=a.reason, now=a.now)


def _propose_exit(a: CaseAction):
    return exits.exit_propose(
        actor=a.user,
        case=a.case,
        mode=a.data.get("mode") or "",
        override_reason=a.data.get("override_reason") or "",
        now=a.now,
    )


def _record_objection(a: CaseAction):
    notices = PublicNotice.objects.filter(case=a.case)
    if a.data.get("notice"):
        notice = notices.filter(pk=a.data["notice"]).first()
        if notice is None:
            raise ValidationError({"notice": _("该公示不属于此案件。")})
    else:
        if a.step_id:
            notices = notices.filter(step_id=a.step().pk)
        notice = notices.filter(step__status=StepStatus.AVAILABLE).order_by("-start_date", "-id").first()
        if notice is None:
            raise InvalidTransition(_("没有正在进行的公示，不能登记异议。"))
    return cases.objection_record(
        actor=a.user,
        notice=notice,
        raised_on=a.data.get("raised_on"),
        content=a.data.get("content") or "",
        raised_by=a.data.get("raised_by") or "",
        now=a.now,
    )


def _resolve_objection(a: CaseAction):
    objection = a.case.objections.filter(pk=a.data.get("objection") or 0).first()
    if objection is None:
        raise ValidationError({"objection": _("该异议不属于此案件。")})
    return cases.objection_resolve(
        actor=a.user,
        objection=objection,
        upheld=bool(a.data.get("upheld")),
        finding=a.data.get("finding") or a.reason,
        now=a.now,
    )


def _set_plan(a: CaseAction):
    return assistance.plan_set(
        actor=a.user, case=a.case, items=list(a.data.get("items") or []), reason=a.reason, now=a.now
    )


def _measure_start(a: CaseAction):
    return assistance.measure_start(actor=a.user, measure=a.measure(), reason=a.reason, now=a.now)


def _measure_complete(a: CaseAction):
    return assistance.measure_complete(
        actor=a.user,
        measure=a.measure(),
        actual_date=a.data.get("actual_date"),
        amount=a.data.get("amount"),
        note=a.data.get("note") or "",
        reason=a.reason,
        now=a.now,
    )


def _measure_stop(a: CaseAction):
    return assistance.measure_stop(actor=a.user, measure=a.measure(), reason=a.reason, now=a.now)


HANDLERS: dict[str, Callable[[CaseAction], object]] = {
    "complete": _complete,
    "reject": _reject,
    "return": _return,
    "post_notice": _post_notice,
    "green_channel": _green_channel,
    "secure_tracking": _secure_tracking,
    "propose_exit": _propose_exit,
    "record_objection": _record_objection,
    "resolve_objection": _resolve_objection,
    "set_plan": _set_plan,
    "measure_start": _measure_start,
    "measure_complete": _measure_complete,
    "measure_stop": _measure_stop,
}


def run(
    *,
    user,
    case: MonitoringCase,
    action: str,
    step_id: int | None = None,
    data: dict | None = None,
    reason: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
):
    """Do ``action`` on ``case`` (one transaction); returns what the service returned.

    Raises the services' errors unchanged: ``ValidationError`` (field → message),
    ``NotAllowed``, ``InvalidTransition``, ``Conflict`` (stale ``expected_version``).
    """
    handler = HANDLERS.get(action)
    if handler is None:
        raise ValidationError({"action": _("未知的操作。")})
    if action in STEP_ACTIONS and not step_id:
        raise ValidationError({"step": _("请指定要办理的步骤。")})
    with transaction.atomic():
        cases.lock_case(case.pk, expected_version=expected_version)
        return handler(
            CaseAction(
                case=case,
                user=user,
                action=action,
                step_id=step_id,
                data=dict(data or {}),
                reason=(reason or "").strip(),
                now=now,
            )
        )


# --- clue triage, one or many ------------------------------------------------------------------

BULK_CLUE_ACTIONS = ("dismiss", "open_case")


@dataclass
class ItemResult:
    clue: Clue
    ok: bool
    message: str
    case_id: int | None = None


def _message(exc: Exception) -> str:
    if isinstance(exc, ServiceError):
        return str(exc.message)
    if isinstance(exc, ValidationError):
        return join_list(exc.messages, "；", "; ")
    return str(exc)


def clues_bulk(
    *, user, clues_: Iterable[Clue], action: str, reason: str = "", note: str = "", now=None
) -> list[ItemResult]:
    """Dismiss, or open cases for, several clues: each one on its own (its own transaction),
    each reported as done or refused with the service's reason."""
    if action not in BULK_CLUE_ACTIONS:
        raise ValidationError({"bulk_action": _("请选择批量操作。")})
    results: list[ItemResult] = []
    for clue in clues_:
        try:
            if action == "dismiss":
                clues.clue_dismiss(actor=user, clue=clue, reason=reason, note=note, now=now)
                clue.refresh_from_db()
                results.append(ItemResult(clue, True, clue.outcome or _("已排除")))
            else:
                case = clues.clue_open_case(actor=user, clue=clue, now=now)
                clue.refresh_from_db()
                results.append(ItemResult(clue, True, clue.outcome or _("已启动识别程序"), case.pk))
        except (ServiceError, ValidationError) as exc:
            results.append(ItemResult(clue, False, _message(exc)))
    return results
