"""The one-key emergency call: planning, escalation at its boundaries with ``now=``,
acknowledgement stopping it, a second tick changing nothing, closing with a clue."""

import datetime as dt

import pytest

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import Notification, Role
from households import services as hs
from households.models import AssignmentKind
from monitoring.models import (
    CallChainStep,
    CallHop,
    CallLevel,
    CallStatus,
    EmergencyCall,
    HopState,
    StatusChange,
)
from monitoring.rules.calls import ChainStep, Recipient, plan_hops
from monitoring.services.calls import call_acknowledge, call_close, call_escalation, call_raise
from tests.accounts import factories as af
from tests.households import factories as hf

T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
SEC = dt.timedelta(seconds=1)

# --- the pure planner ---------------------------------------------------------------------------

CHAIN = [
    ChainStep(1, CallLevel.HELPER_CONTACT, 5),
    ChainStep(2, CallLevel.RESPONSIBLE_HELPER, 10),
    ChainStep(3, CallLevel.DOCTOR, 10),
    ChainStep(4, CallLevel.VILLAGE_CADRE, 15),
    ChainStep(5, CallLevel.TOWNSHIP, 30),
]


def test_plan_hops_times_follow_the_minutes_of_each_reached_hop():
    reach = {
        CallLevel.HELPER_CONTACT: [Recipient(1, "甲")],
        CallLevel.RESPONSIBLE_HELPER: [Recipient(2, "乙")],
        CallLevel.DOCTOR: [Recipient(3, "丙")],
        CallLevel.VILLAGE_CADRE: [Recipient(4, "丁"), Recipient(5, "戊")],
        CallLevel.TOWNSHIP: [Recipient(6, "己")],
    }
    hops = plan_hops(CHAIN, reach, raised_at=T0)
    assert [h.notify_at for h in hops] == [T0, T0 + 5 * MIN, T0 + 15 * MIN, T0 + 25 * MIN, T0 + 40 * MIN]
    assert hops[3].recipients == (4, 5) and hops[3].names == "丁、戊"


def test_plan_hops_skips_an_empty_level_without_spending_its_minutes():
    reach = {CallLevel.HELPER_CONTACT: [Recipient(1, "甲")], CallLevel.VILLAGE_CADRE: [Recipient(4, "丁")]}
    hops = plan_hops(CHAIN, reach, raised_at=T0)
    assert [h.skipped for h in hops] == [False, True, True, False, True]
    # the cadre is told when the contact's 5 minutes are up (the helper and doctor are empty)
    assert hops[3].notify_at == T0 + 5 * MIN


def test_plan_hops_with_nobody_to_reach_plans_nothing_to_notify():
    assert all(h.skipped for h in plan_hops(CHAIN, {}, raised_at=T0))


# --- the services -----------------------------------------------------------------------------


@pytest.fixture
def team(areas, household, cadre, township_reviewer):
    """The household's contact, responsible helper and family doctor, each with a login."""
    people = {}
    for kind, username in (
        (AssignmentKind.CONTACT, "contact"),
        (AssignmentKind.RESPONSIBLE, "responsible"),
        (AssignmentKind.DOCTOR, "doctor"),
    ):
        user = af.user(Role.HELPER, username=username, full_name=username)
        helper = hf.helper(areas["county"], user, name=username)
        hs.helper_assign(
            actor=None, helper=helper, household=household, start_date=dt.date(2026, 1, 1), kind=kind
        )
        people[kind] = user
    return people


def _notified(call):
    return list(
        call.hops.filter(state=HopState.NOTIFIED).order_by("position").values_list("level", flat=True)
    )


def test_raise_notifies_the_helper_contact_at_once(household, cadre, team):
    call, created = call_raise(actor=cadre, household=household, note="老人摔倒", now=T0)
    assert created and call.status == CallStatus.OPEN
    assert _notified(call) == [CallLevel.HELPER_CONTACT]
    note = Notification.objects.get(recipient=team[AssignmentKind.CONTACT])
    assert note.kind == "emergency_call" and note.url.endswith(f"/calls/{call.pk}/")
    assert StatusChange.objects.filter(object_type="call", object_id=call.pk, action="raise").exists()


def test_escalation_at_its_boundaries(household, cadre, township_reviewer, team):
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    # a second before the contact's 5 minutes are up: nothing moves
    assert call_escalation(now=T0 + 5 * MIN - SEC)["hops_notified"] == 0
    assert _notified(call) == [CallLevel.HELPER_CONTACT]
    # exactly at 5 minutes: the responsible helper
    assert call_escalation(now=T0 + 5 * MIN)["hops_notified"] == 1
    assert _notified(call)[-1] == CallLevel.RESPONSIBLE_HELPER
    assert Notification.objects.filter(recipient=team[AssignmentKind.RESPONSIBLE]).count() == 1
    # a tick long after notifies every hop whose time has come, each once
    counts = call_escalation(now=T0 + 40 * MIN)
    assert counts["hops_notified"] == 3
    assert _notified(call) == [
        CallLevel.HELPER_CONTACT,
        CallLevel.RESPONSIBLE_HELPER,
        CallLevel.DOCTOR,
        CallLevel.VILLAGE_CADRE,
        CallLevel.TOWNSHIP,
    ]
    assert Notification.objects.filter(recipient=cadre, kind="emergency_call").count() == 1
    assert Notification.objects.filter(recipient=township_reviewer, kind="emergency_call").count() == 1


def test_a_second_tick_changes_nothing(household, cadre, team):
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    call_escalation(now=T0 + 15 * MIN)
    state = (
        list(CallHop.objects.order_by("id").values_list("state", "notified_at")),
        Notification.objects.count(),
        StatusChange.objects.count(),
    )
    assert call_escalation(now=T0 + 15 * MIN) == {
        "hops_notified": 0,
        "calls_escalated": 0,
        "notifications": 0,
    }
    assert state == (
        list(CallHop.objects.order_by("id").values_list("state", "notified_at")),
        Notification.objects.count(),
        StatusChange.objects.count(),
    )


def test_acknowledgement_stops_escalation(household, cadre, team):
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    call_escalation(now=T0 + 5 * MIN)
    responsible = team[AssignmentKind.RESPONSIBLE]
    call = call_acknowledge(actor=responsible, call=call, now=T0 + 6 * MIN)
    assert call.status == CallStatus.ACKNOWLEDGED and call.acknowledged_by == responsible
    assert call_escalation(now=T0 + 2 * dt.timedelta(hours=1))["hops_notified"] == 0
    assert list(call.hops.order_by("position").values_list("state", flat=True)) == [
        HopState.NOTIFIED,
        HopState.NOTIFIED,
        HopState.STOPPED,
        HopState.STOPPED,
        HopState.STOPPED,
    ]
    # the contact, told earlier, learns who took it
    assert Notification.objects.filter(
        recipient=team[AssignmentKind.CONTACT], key=f"call:{call.pk}:ack"
    ).exists()
    # a second tap by the same person changes nothing; someone else is told who took it
    assert call_acknowledge(actor=responsible, call=call, now=T0 + 7 * MIN).acknowledged_at == T0 + 6 * MIN
    with pytest.raises(InvalidTransition):
        call_acknowledge(actor=team[AssignmentKind.CONTACT], call=call, now=T0 + 7 * MIN)
    assert (
        StatusChange.objects.filter(object_type="call", object_id=call.pk, action="acknowledge").count() == 1
    )


def test_a_missing_doctor_is_skipped(household, cadre, areas):
    user = af.user(Role.HELPER, username="contact2")
    helper = hf.helper(areas["county"], user)
    hs.helper_assign(
        actor=None,
        helper=helper,
        household=household,
        start_date=dt.date(2026, 1, 1),
        kind=AssignmentKind.CONTACT,
    )
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    states = dict(call.hops.values_list("level", "state"))
    assert states[CallLevel.DOCTOR] == HopState.SKIPPED
    assert states[CallLevel.RESPONSIBLE_HELPER] == HopState.SKIPPED
    call_escalation(now=T0 + 5 * MIN)
    assert _notified(call) == [CallLevel.HELPER_CONTACT, CallLevel.VILLAGE_CADRE]


def test_the_county_chain_is_data(household, cadre, team, areas):
    CallChainStep.objects.create(county=areas["county"], position=1, level=CallLevel.VILLAGE_CADRE, minutes=3)
    CallChainStep.objects.create(
        county=areas["county"], position=2, level=CallLevel.HELPER_CONTACT, minutes=3
    )
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    assert list(call.hops.order_by("position").values_list("level", flat=True)) == [
        CallLevel.VILLAGE_CADRE,
        CallLevel.HELPER_CONTACT,
    ]
    assert call_escalation(now=T0 + 3 * MIN - SEC)["hops_notified"] == 0
    assert call_escalation(now=T0 + 3 * MIN)["hops_notified"] == 1


def test_one_call_at_a_time_per_household(household, cadre, team):
    first, created = call_raise(actor=cadre, household=household, now=T0)
    again, created_again = call_raise(actor=cadre, household=household, now=T0 + MIN)
    assert created and not created_again and again.pk == first.pk
    call_close(actor=cadre, call=first, outcome="已处理", now=T0 + 2 * MIN)
    later, created_later = call_raise(actor=cadre, household=household, now=T0 + 3 * MIN)
    assert created_later and later.pk != first.pk


def test_close_needs_an_outcome_and_can_raise_a_clue(household, cadre, team):
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    with pytest.raises(ValidationError) as err:
        call_close(actor=cadre, call=call, outcome=" ", raise_clue={"risk_type_codes": []}, now=T0 + MIN)
    assert set(err.value.message_dict) == {"outcome", "risk_type_codes"}
    call = call_close(
        actor=cadre,
        call=call,
        outcome="送医，住院治疗",
        raise_clue={"risk_type_codes": ["01"], "description": "大病住院"},
        now=T0 + MIN,
    )
    assert call.status == CallStatus.CLOSED and call.closed_by == cadre
    assert call.acknowledged_by == cadre  # closing an unanswered call answers it
    assert call.clue is not None and call.clue.household == household
    assert call_escalation(now=T0 + dt.timedelta(hours=3))["hops_notified"] == 0
    with pytest.raises(InvalidTransition):
        call_close(actor=cadre, call=call, outcome="再次", now=T0 + 2 * MIN)


def test_only_staff_of_the_area_or_those_reached_handle_a_call(
    household, other_household, cadre, team, areas
):
    outsider = af.user(Role.VILLAGE_CADRE, areas["v21"], username="outsider")
    with pytest.raises(NotAllowed):
        call_raise(actor=outsider, household=household, now=T0)
    operator = af.user(Role.OPERATOR, areas["county"], username="op2")
    with pytest.raises(NotAllowed):
        call_raise(actor=operator, household=household, now=T0)
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    with pytest.raises(NotAllowed):
        call_acknowledge(actor=outsider, call=call, now=T0 + MIN)
    # the doctor is not yet reached, but is assigned to the household (a helper of it)
    assert (
        call_acknowledge(actor=team[AssignmentKind.DOCTOR], call=call, now=T0 + MIN).status == "acknowledged"
    )


def test_a_department_device_raises_inside_its_areas(household, medical, areas, team):
    device = af.user(Role.DEPARTMENT, areas["county"], username="device", department=medical)
    call, created = call_raise(actor=device, household=household, source="device", now=T0)
    assert created and call.department == medical and call.source == "device"
    far = af.user(Role.DEPARTMENT, areas["t2"], username="device2", department=medical)
    EmergencyCall.objects.all().delete()
    with pytest.raises(NotAllowed):
        call_raise(actor=far, household=household, source="device", now=T0)


def test_the_note_is_checked(household, cadre):
    with pytest.raises(ValidationError) as err:
        call_raise(actor=cadre, household=household, note="x" * 501, now=T0)
    assert "note" in err.value.message_dict


def test_the_task_runs_the_escalation_under_a_run_record(household, cadre, team, settings):
    from monitoring.models import TaskRun
    from monitoring.tasks import call_escalation as task

    call_raise(actor=cadre, household=household, now=T0)
    EmergencyCall.objects.update(raised_at=T0)
    CallHop.objects.filter(state=HopState.PLANNED).update(notify_at=T0)
    result = task.delay().get()
    assert result["hops_notified"] == 4
    assert TaskRun.objects.get(pk=result["run"]).task == "call_escalation"


def test_the_notifications_read_in_each_language(household, cadre, team):
    """The same rows whether the tick runs as one SQL statement (PostgreSQL) or in Python."""
    from django.utils import translation

    head = household.head.name
    call, _ = call_raise(actor=cadre, household=household, now=T0)
    call_escalation(now=T0 + 5 * MIN + 30 * SEC)
    first = Notification.objects.get(recipient=team[AssignmentKind.CONTACT], key=f"call:{call.pk}:1")
    later = Notification.objects.get(recipient=team[AssignmentKind.RESPONSIBLE], key=f"call:{call.pk}:2")
    assert first.title == f"紧急呼叫：一村{head}户按下了一键呼叫，请立即应答（帮扶联系人）"
    assert later.title == f"紧急呼叫升级：一村{head}户的呼叫5分钟无人应答，已转至您（帮扶责任人）"
    assert later.display_title == later.title and later.url == f"/calls/{call.pk}/"
    assert later.area_code == household.area_code and later.created_at == T0 + 5 * MIN + 30 * SEC
    with translation.override("en"):
        assert first.display_title == (
            f"Emergency call: the household of {head} in 一村 pressed the call button, please answer now "
            "(Assistance contact)"
        )
        assert later.display_title == (
            f"Emergency call escalated: the call of the household of {head} in 一村 has had no answer "
            "for 5 minutes and now goes to you (Responsible helper)"
        )
