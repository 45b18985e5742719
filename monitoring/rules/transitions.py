"""The transition tables of the workflow: for each status machine, action -> (allowed from, to).

Nothing here touches the database. :func:`transition_error` returns ``None`` when the action
may go ahead from the current status, or the reason (a sentence a person understands) when it
may not, so a page can show *why* an action is unavailable and the service refuses with the
same words. ``monitoring.services.audit.apply_transition`` is the one writer that checks them.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from monitoring.models import CaseStatus, ClueStatus, StepKind, StepStatus

# --- transition tables: action -> (allowed from, to) ---------------------------------------

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
    "match": (frozenset({K.UNMATCHED}), K.PENDING),
    "attach": (frozenset({K.UNMATCHED, K.PENDING}), K.ATTACHED),
    "open_case": (frozenset({K.PENDING}), K.CASE_OPENED),
    "dismiss": (frozenset({K.UNMATCHED, K.PENDING}), K.DISMISSED),
}

#: Steps whose actor may send the case back to the steps it waits for.
RETURNABLE_KINDS = frozenset({StepKind.TOWNSHIP_REVIEW, StepKind.COUNTY_APPROVAL, StepKind.DATA_COMPARISON})


def transition_error(table: Mapping[str, tuple[frozenset[str], str]], action: str, current: str, labels=None):
    """``None`` if ``action`` is allowed from ``current`` in ``table``, else the reason."""
    if action not in table:
        return _("未知的操作。")
    allowed, _to = table[action]
    if current in allowed:
        return None
    label = labels(current) if labels else current
    return _("当前状态（%(status)s）不能进行此操作。") % {"status": label}


def target(table, action: str) -> str:
    return table[action][1]
