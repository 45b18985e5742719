"""The transition tables, exhaustively, and the services refusing what the tables refuse."""

from __future__ import annotations

import pytest

from accounts.errors import InvalidTransition, NotAllowed
from monitoring.models import CaseStatus, ClueStatus, StatusChange, StepStatus
from monitoring.rules import transitions
from monitoring.services import cases, clues
from tests.accounts import factories as af
from tests.monitoring.helpers import (
    at,
    d,
    run_procedure,
    step,
    step_data,
)

TABLES = {
    "case": (transitions.CASE_TRANSITIONS, CaseStatus),
    "step": (transitions.STEP_TRANSITIONS, StepStatus),
    "clue": (transitions.CLUE_TRANSITIONS, ClueStatus),
}

# What the tables must say, written out independently of monitoring/rules/transitions.py.
EXPECTED = {
    "case": {
        "green_channel": ({"identifying"}, "provisional"),
        "identify": ({"identifying", "provisional"}, "monitored"),
        "reject": ({"identifying", "provisional"}, "not_included"),
        "secure_tracking": ({"monitored"}, "secured_tracking"),
        "start_exit": ({"monitored", "secured_tracking"}, "exit_in_progress"),
        "exit_rejected": ({"exit_in_progress"}, "monitored"),
        "exit_rejected_secured": ({"exit_in_progress"}, "secured_tracking"),
        "eliminate": ({"exit_in_progress"}, "eliminated"),
    },
    "step": {
        "unlock": ({"waiting"}, "available"),
        "complete": ({"available"}, "done"),
        "reject": ({"available"}, "rejected"),
        "return": ({"available"}, "waiting"),
        "reopen": ({"done"}, "available"),
        "cancel": ({"waiting", "available"}, "cancelled"),
    },
    "clue": {
        "match": ({"unmatched"}, "pending"),
        "attach": ({"unmatched", "pending"}, "attached"),
        "open_case": ({"pending"}, "case_opened"),
        "dismiss": ({"unmatched", "pending"}, "dismissed"),
    },
}

PAIRS = [
    pytest.param(name, action, status, id=f"{name}-{action}-{status}")
    for name, (table, statuses) in TABLES.items()
    for action in table
    for status in statuses.values
]


@pytest.mark.parametrize(("name", "action", "status"), PAIRS)
def test_every_state_action_pair(name, action, status):
    table, statuses = TABLES[name]
    allowed_from, to = EXPECTED[name][action]
    err = transitions.transition_error(table, action, status, lambda s: statuses(s).label)
    if status in allowed_from:
        assert err is None
        assert transitions.target(table, action) == to
    else:
        assert err == f"当前状态（{statuses(status).label}）不能进行此操作。"


@pytest.mark.parametrize("name", TABLES)
def test_tables_name_only_known_actions_and_statuses(name):
    table, statuses = TABLES[name]
    assert set(table) == set(EXPECTED[name])
    for allowed_from, to in table.values():
        assert to in statuses.values
        assert allowed_from <= set(statuses.values)


def test_terminal_states_have_no_way_out():
    outgoing = {s for allowed, _to in transitions.CASE_TRANSITIONS.values() for s in allowed}
    assert CaseStatus.NOT_INCLUDED not in outgoing and CaseStatus.ELIMINATED not in outgoing
    step_out = {s for allowed, _to in transitions.STEP_TRANSITIONS.values() for s in allowed}
    assert StepStatus.REJECTED not in step_out and StepStatus.CANCELLED not in step_out
    clue_out = {s for allowed, _to in transitions.CLUE_TRANSITIONS.values() for s in allowed}
    assert not clue_out & {ClueStatus.CASE_OPENED, ClueStatus.ATTACHED, ClueStatus.DISMISSED}


def test_unknown_action_and_raw_labels():
    assert transitions.transition_error(transitions.CASE_TRANSITIONS, "fly", "identifying") == "未知的操作。"
    assert "monitored" in transitions.transition_error(transitions.CASE_TRANSITIONS, "identify", "monitored")


# --- through the services -----------------------------------------------------------------


def _no_new_changes(before: int) -> None:
    assert StatusChange.objects.count() == before


def test_completing_a_done_step_is_refused_readably(case, actors):
    hv = step(case, "home_verification")
    cases.step_complete(actor=actors.cadre, step=hv, data=step_data(hv, d(3, 2)), now=at(d(3, 2)))
    before = StatusChange.objects.count()
    version = type(case).objects.get(pk=case.pk).version
    with pytest.raises(InvalidTransition) as exc:
        cases.step_complete(actor=actors.cadre, step=hv, data=step_data(hv, d(3, 3)), now=at(d(3, 3)))
    assert exc.value.message == "当前状态（已完成）不能进行此操作。"
    _no_new_changes(before)
    assert type(case).objects.get(pk=case.pk).version == version


def test_completing_a_waiting_step_is_refused(case, actors):
    tr = step(case, "township_review")
    assert tr.status == StepStatus.WAITING
    with pytest.raises(InvalidTransition, match="等待前置步骤"):
        cases.step_complete(
            actor=actors.township_reviewer, step=tr, data={"opinion": "同意"}, now=at(d(3, 2))
        )


def test_rejecting_a_cancelled_step_and_returning_a_first_step_are_refused(case, actors):
    hv = step(case, "home_verification")
    with pytest.raises(InvalidTransition, match="此步骤不能退回"):
        cases.step_return(actor=actors.cadre, step=hv, reason="重新核查", now=at(d(3, 2)))
    cases.step_reject(actor=actors.cadre, step=hv, reason="农户不同意授权", now=at(d(3, 2)))
    dc = step(case, "data_comparison")
    assert dc.status == StepStatus.CANCELLED
    with pytest.raises(InvalidTransition, match="已终止"):
        cases.step_reject(actor=actors.county_approver, step=dc, reason="再次", now=at(d(3, 3)))


def test_returning_a_step_with_nothing_done_before_it_is_refused(case, actors):
    run_procedure(case, actors, d(3, 2), until="data_comparison")
    dc = step(case, "data_comparison")
    # data comparison is returnable; its only predecessor is done, so it works ...
    cases.step_return(actor=actors.county_approver, step=dc, reason="补充材料", now=at(d(3, 3)))
    dc.refresh_from_db()
    assert dc.status == StepStatus.WAITING
    # ... and a second return of the now waiting step is refused by the table
    with pytest.raises(InvalidTransition, match="等待前置步骤"):
        cases.step_return(actor=actors.county_approver, step=dc, reason="再退", now=at(d(3, 3)))


def test_wrong_role_and_wrong_area_are_refused(case, actors, areas):
    hv = step(case, "home_verification")
    with pytest.raises(NotAllowed, match="此步骤由村干部/网格员办理"):
        cases.step_complete(
            actor=actors.township_reviewer, step=hv, data=step_data(hv, d(3, 2)), now=at(d(3, 2))
        )
    other = af.user("village_cadre", areas["v12"])
    with pytest.raises(NotAllowed, match="不在您的工作区域内"):
        cases.step_complete(actor=other, step=hv, data=step_data(hv, d(3, 2)), now=at(d(3, 2)))


def test_case_actions_outside_the_table_are_refused(case, actors):
    # identifying → secure_tracking is not in the table (and the household is not safety-net)
    with pytest.raises(InvalidTransition):
        cases.case_secure_tracking(actor=actors.county_approver, case=case, reason="兜底", now=at(d(3, 2)))
    case.refresh_from_db()
    run_procedure(case, actors, d(3, 2))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    with pytest.raises(InvalidTransition):
        cases.case_green_channel(actor=actors.county_approver, case=case, reason="灾害", now=at(d(3, 20)))


def test_clue_actions_outside_the_table_are_refused(case, actors):
    clue = case.clues.get()
    assert clue.status == ClueStatus.CASE_OPENED
    with pytest.raises(InvalidTransition, match="已启动识别"):
        clues.clue_dismiss(actor=actors.county_approver, clue=clue, reason="duplicate", now=at(d(3, 2)))
    with pytest.raises(InvalidTransition, match="已启动识别"):
        clues.clue_match(actor=actors.county_approver, clue=clue, household=case.household, now=at(d(3, 2)))
