"""The transition tables of the workflow: for each status machine, action -> (allowed from, to).

Four machines, side by side in the same shape: cases, procedure steps, clues and assistance
measures. A row is created in its first status by an action from :data:`NEW` (the empty
status): a clue is received (``receive``: matched to a household, so pending; or
``receive_unmatched``), a measure is planned (``plan``). Such an action is never available on a
stored row, since no stored row has the empty status.

Nothing here touches the database. :func:`transition_error` returns ``None`` when the action
may go ahead from the current status, or the reason (a sentence a person understands) when it
may not, so a page can show *why* an action is unavailable and the service refuses with the
same words. ``monitoring.services.audit.apply_transition`` is the one writer of a row's status
that checks them, and ``monitoring.services.audit.transition_rows`` checks them for bulk writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from monitoring.models import CallStatus, CaseStatus, ClueStatus, MeasureStatus, StepKind, StepStatus

# --- transition tables: action -> (allowed from, to) ---------------------------------------

Table = Mapping[str, tuple[frozenset[str], str]]

#: The status of a row not yet created: the from-status of the actions that create one.
NEW = ""

C = CaseStatus
CASE_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "green_channel": (frozenset({C.IDENTIFYING}), C.PROVISIONAL),
    "identify": (frozenset({C.IDENTIFYING, C.PROVISIONAL}), C.MONITORED),
    "reject": (frozenset({C.IDENTIFYING, C.PROVISIONAL}), C.NOT_INCLUDED),
    "secure_tracking": (frozenset({C.MONITORED}), C.SECURED_TRACKING),
    "start_exit": (frozenset({C.MONITORED, C.SECURED_TRACKING}), C.EXIT_IN_PROGRESS),
    "exit_rejected": (frozenset({C.EXIT_IN_PROGRESS}), C.MONITORED),
    "exit_rejected_secured": (frozenset({C.EXIT_IN_PROGRESS}), C.SECURED_TRACKING),
    "eliminate": (frozenset({C.EXIT_IN_PROGRESS}), C.ELIMINATED),
}

S = StepStatus
STEP_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "unlock": (frozenset({S.WAITING}), S.AVAILABLE),
    "complete": (frozenset({S.AVAILABLE}), S.DONE),
    "reject": (frozenset({S.AVAILABLE}), S.REJECTED),
    "return": (frozenset({S.AVAILABLE}), S.WAITING),
    "reopen": (frozenset({S.DONE}), S.AVAILABLE),
    "cancel": (frozenset({S.WAITING, S.AVAILABLE}), S.CANCELLED),
}

K = ClueStatus
CLUE_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "receive": (frozenset({NEW}), K.PENDING),
    "receive_unmatched": (frozenset({NEW}), K.UNMATCHED),
    "match": (frozenset({K.UNMATCHED}), K.PENDING),
    "attach": (frozenset({K.UNMATCHED, K.PENDING}), K.ATTACHED),
    "open_case": (frozenset({K.PENDING}), K.CASE_OPENED),
    "dismiss": (frozenset({K.UNMATCHED, K.PENDING}), K.DISMISSED),
}

L = CallStatus
#: An emergency call: acknowledged by one tap, closed with what was done (closing an
#: unacknowledged call acknowledges it too).
CALL_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "raise": (frozenset({NEW}), L.OPEN),
    "acknowledge": (frozenset({L.OPEN}), L.ACKNOWLEDGED),
    "close": (frozenset({L.OPEN, L.ACKNOWLEDGED}), L.CLOSED),
}

M = MeasureStatus
PLANNED, IN_PROGRESS, IMPLEMENTED, STOPPED = M.PLANNED, M.IN_PROGRESS, M.IMPLEMENTED, M.STOPPED
PLAN, START, COMPLETE, STOP = "plan", "start", "complete", "stop"
#: Implemented and stopped are final.
MEASURE_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    PLAN: (frozenset({NEW}), PLANNED),
    START: (frozenset({PLANNED}), IN_PROGRESS),
    COMPLETE: (frozenset({PLANNED, IN_PROGRESS}), IMPLEMENTED),
    STOP: (frozenset({PLANNED, IN_PROGRESS}), STOPPED),
}
MEASURE_STATUSES = (PLANNED, IN_PROGRESS, IMPLEMENTED, STOPPED)
#: What may be done to a measure once it is planned (a department's task, the county's stop).
MEASURE_ACTIONS = (START, COMPLETE, STOP)

#: Steps whose actor may send the case back to the steps it waits for.
RETURNABLE_KINDS = frozenset({StepKind.TOWNSHIP_REVIEW, StepKind.COUNTY_APPROVAL, StepKind.DATA_COMPARISON})


def transition_error(table: Table, action: str, current: str, labels=None):
    """``None`` if ``action`` is allowed from ``current`` in ``table``, else the reason."""
    if action not in table:
        return _("未知的操作。")
    allowed, _to = table[action]
    if current in allowed:
        return None
    label = labels(current) if labels else current
    return _("当前状态（%(status)s）不能进行此操作。") % {"status": label}


def target(table: Table, action: str) -> str:
    return table[action][1]


def measure_next_status(status: str, action: str) -> str | None:
    """The status ``action`` leads a measure to from ``status``, or ``None`` when not allowed."""
    allowed, to = MEASURE_TRANSITIONS.get(action, (frozenset(), None))
    return to if status in allowed else None


def measure_refusal(status: str, action: str) -> str | None:
    """Why ``action`` is not available to a measure in ``status`` (``None`` when it is)."""
    if measure_next_status(status, action) is not None:
        return None
    if status == IMPLEMENTED:
        return _("该措施已落实，不能再变更。")
    if status == STOPPED:
        return _("该措施已终止，不能再变更。")
    if action == START and status == IN_PROGRESS:
        return _("该措施已在实施中。")
    return _("该措施当前状态不能办理此操作。")
