"""The four transition tables, exhaustively, and the services writing only what the tables allow."""

from __future__ import annotations

import pytest

from accounts.errors import InvalidTransition, NotAllowed
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    Clue,
    ClueStatus,
    MeasureStatus,
    MonitoringCase,
    StatusChange,
    StepStatus,
)
from monitoring.rules import transitions
from monitoring.services import alerts, assistance, audit, cases, clues
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf
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
    "measure": (transitions.MEASURE_TRANSITIONS, MeasureStatus),
}

# What the tables must say, written out independently of monitoring/rules/transitions.py.
# "" is the status of a row not created yet: the actions from it create the row.
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
        "receive": ({""}, "pending"),
        "receive_unmatched": ({""}, "unmatched"),
        "match": ({"unmatched"}, "pending"),
        "attach": ({"unmatched", "pending"}, "attached"),
        "open_case": ({"pending"}, "case_opened"),
        "dismiss": ({"unmatched", "pending"}, "dismissed"),
    },
    "measure": {
        "plan": ({""}, "planned"),
        "start": ({"planned"}, "in_progress"),
        "complete": ({"planned", "in_progress"}, "implemented"),
        "stop": ({"planned", "in_progress"}, "stopped"),
    },
}


def _label(statuses, status: str) -> str:
    return statuses(status).label if status else status


PAIRS = [
    pytest.param(name, action, status, id=f"{name}-{action}-{status or 'new'}")
    for name, (table, statuses) in TABLES.items()
    for action in table
    for status in ["", *statuses.values]
]


@pytest.mark.parametrize(("name", "action", "status"), PAIRS)
def test_every_state_action_pair(name, action, status):
    table, statuses = TABLES[name]
    allowed_from, to = EXPECTED[name][action]
    err = transitions.transition_error(table, action, status, lambda s: _label(statuses, s))
    if status in allowed_from:
        assert err is None
        assert transitions.target(table, action) == to
    else:
        assert err == f"当前状态（{_label(statuses, status)}）不能进行此操作。"


def test_the_pairs_cover_all_four_tables():
    expected = sum(
        len(EXPECTED[name]) * (len(statuses.values) + 1) for name, (_t, statuses) in TABLES.items()
    )
    assert len(PAIRS) == expected == 8 * 8 + 6 * 6 + 6 * 6 + 4 * 5


# The measure table words its refusals itself (a department reads them on its task list).
MEASURE_REFUSALS = {
    "implemented": "该措施已落实，不能再变更。",
    "stopped": "该措施已终止，不能再变更。",
}


@pytest.mark.parametrize(
    ("action", "status"), [(a, s) for a in EXPECTED["measure"] for s in ["", *MeasureStatus.values]]
)
def test_every_measure_pair_in_its_own_words(action, status):
    allowed_from, to = EXPECTED["measure"][action]
    next_status = transitions.measure_next_status(status, action)
    refusal = transitions.measure_refusal(status, action)
    if status in allowed_from:
        assert (next_status, refusal) == (to, None)
        return
    assert next_status is None
    if status in MEASURE_REFUSALS:
        assert refusal == MEASURE_REFUSALS[status]
    elif (action, status) == ("start", "in_progress"):
        assert refusal == "该措施已在实施中。"
    else:
        assert refusal == "该措施当前状态不能办理此操作。"


@pytest.mark.parametrize("name", TABLES)
def test_tables_name_only_known_actions_and_statuses(name):
    table, statuses = TABLES[name]
    assert set(table) == set(EXPECTED[name])
    for allowed_from, to in table.values():
        assert to in statuses.values
        assert allowed_from <= {transitions.NEW, *statuses.values}
        # an action either creates a row or moves a stored one, never both
        assert allowed_from == {transitions.NEW} or transitions.NEW not in allowed_from


def test_terminal_states_have_no_way_out():
    outgoing = {s for allowed, _to in transitions.CASE_TRANSITIONS.values() for s in allowed}
    assert CaseStatus.NOT_INCLUDED not in outgoing and CaseStatus.ELIMINATED not in outgoing
    step_out = {s for allowed, _to in transitions.STEP_TRANSITIONS.values() for s in allowed}
    assert StepStatus.REJECTED not in step_out and StepStatus.CANCELLED not in step_out
    clue_out = {s for allowed, _to in transitions.CLUE_TRANSITIONS.values() for s in allowed}
    assert not clue_out & {ClueStatus.CASE_OPENED, ClueStatus.ATTACHED, ClueStatus.DISMISSED}
    measure_out = {s for allowed, _to in transitions.MEASURE_TRANSITIONS.values() for s in allowed}
    assert not measure_out & {MeasureStatus.IMPLEMENTED, MeasureStatus.STOPPED}


def test_unknown_action_and_raw_labels():
    assert transitions.transition_error(transitions.CASE_TRANSITIONS, "fly", "identifying") == "未知的操作。"
    assert "monitored" in transitions.transition_error(transitions.CASE_TRANSITIONS, "identify", "monitored")


# --- the bulk helper --------------------------------------------------------------------------


def test_transition_rows_are_checked_against_the_table(db):
    rows = [Clue(pk=7), Clue(pk=8)]
    built = audit.transition_rows(
        transitions.CLUE_TRANSITIONS,
        "receive",
        rows,
        object_type="clue",
        from_status=transitions.NEW,
        actor=None,
        now=at(d(3, 2)),
        case=lambda clue: clue.pk * 10,
        data=lambda clue: {"n": clue.pk},
    )
    assert [(r.object_id, r.action, r.from_status, r.to_status, r.case_id, r.data) for r in built] == [
        (7, "receive", "", "pending", 70, {"n": 7}),
        (8, "receive", "", "pending", 80, {"n": 8}),
    ]
    assert all(r.pk is None and r.at == at(d(3, 2)) for r in built)
    for action, from_status in [("receive", "pending"), ("attach", "case_opened"), ("fly", "")]:
        with pytest.raises(InvalidTransition):
            audit.transition_rows(
                transitions.CLUE_TRANSITIONS,
                action,
                rows,
                object_type="clue",
                from_status=from_status,
                actor=None,
                now=at(d(3, 2)),
            )
    assert not StatusChange.objects.exists()


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


# --- what the services write --------------------------------------------------------------


def _assert_rows_follow_the_tables() -> int:
    """Every clue and measure status row is a move of its table, and each object's rows chain
    from "" to the status it has now. Returns how many rows were checked."""
    models = {"clue": Clue, "measure": AssistanceMeasure}
    rows = StatusChange.objects.filter(object_type__in=models).exclude(action="replan").order_by("pk")
    last: dict[tuple[str, int], str] = {}
    for row in rows:
        allowed_from, to = EXPECTED[row.object_type][row.action]
        assert row.from_status in allowed_from and row.to_status == to, row
        key = (row.object_type, row.object_id)
        assert row.from_status == last.get(key, ""), row
        last[key] = row.to_status
    for (object_type, pk), status in last.items():
        assert models[object_type].objects.get(pk=pk).status == status
    assert len({k for k in last if k[0] == "clue"}) == Clue.objects.count()
    assert len({k for k in last if k[0] == "measure"}) == AssistanceMeasure.objects.count()
    return rows.count()


def test_clue_and_measure_services_write_only_moves_of_their_tables(areas, cadre, county_approver):
    now = at(d(3, 2))
    dept_user = af.user("department", areas["county"], department=mf.department("medical_insurance"))
    opened = hf.household(areas["v11"], members=1, actor=cadre)
    waiting = hf.household(areas["v12"], members=1)
    later = hf.household(areas["v11"], members=1)
    clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=d(3, 1),
        risk_type_codes=["01"],
        household=opened,
        now=now,
    )
    results = alerts.alerts_receive(
        actor=dept_user,
        department=dept_user.department,
        items=[
            {
                "external_id": f"T{n}",
                "id_number": number,
                "name": "某",
                "risk_type": "01",
                "found_date": "2026-03-01",
            }
            for n, number in enumerate([opened.head.id_number, hf.id_number(), waiting.head.id_number])
        ],
        now=now,
    )
    attached, unmatched, pending = (Clue.objects.get(pk=r["id"]) for r in results)
    assert (attached.status, unmatched.status, pending.status) == ("attached", "unmatched", "pending")
    clues.clue_match(actor=county_approver, clue=unmatched, household=later, now=now)
    clues.clue_dismiss(actor=county_approver, clue=pending, reason="duplicate", now=now)

    case = mf.case(hf.household(areas["v21"], labour=("normal", "none")), risks=("01",))
    first, second = assistance.plan_set(
        actor=county_approver, case=case, items=[{"measure": "M0504"}, {"measure": "M0101"}], now=now
    )
    assistance.plan_set(
        actor=county_approver, case=case, items=[{"measure": "M0504", "note": "签约"}], now=now
    )
    assistance.measure_start(actor=county_approver, measure=first, now=now)
    assistance.measure_stop(actor=county_approver, measure=first, reason="已外出务工", now=now)
    assistance.measure_complete(actor=county_approver, measure=second, actual_date=d(3, 1), now=now)
    with pytest.raises(InvalidTransition, match="该措施已落实"):
        assistance.measure_stop(actor=county_approver, measure=second, reason="再停", now=now)

    # four clues of two rows each; the measures: plan, start, stop and plan, complete
    assert _assert_rows_follow_the_tables() == 4 * 2 + 3 + 2
    assert StatusChange.objects.filter(action="replan").count() == 1
    assert MonitoringCase.objects.count() == 2
