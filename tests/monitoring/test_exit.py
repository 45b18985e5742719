"""Risk elimination: the eligibility check, overrides, the exit procedure and its endings,
secured tracking, natural elimination and re-entry through a new clue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from households import services as household_services
from households.models import Household, MonitoringStatus
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    ClueStatus,
    ExitAssessment,
    Measure,
    MeasureStatus,
    MonitoringCase,
    StatusChange,
    StepStatus,
)
from monitoring.selectors import available_actions, case_deadlines
from monitoring.services import cases, clues, exits
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import (
    at,
    changes,
    d,
    identified_case,
    open_case,
    run_procedure,
    set_household,
    step,
    step_data,
)

EXIT_CODES = ["home_verification", "village_review", "village_notice", "township_review", "county_approval"]
PROPOSE_DAY = d(7, 20)  # identified on 14 January: more than six months


def _income(hh, actor, year, wages):
    household_services.income_record_set(actor=actor, household=hh, year=year, wages=str(wages))


def _implemented(case, code="M0101", day=dt.date(2026, 2, 1)):
    return AssistanceMeasure.objects.create(
        case=case,
        measure=Measure.objects.get(code=code),
        responsible_person="王帮扶",
        status=MeasureStatus.IMPLEMENTED,
        actual_date=day,
    )


@pytest.fixture
def monitored(areas, actors):
    """A household identified on 14 January 2026 that has since recovered."""
    hh = hf.household(areas["v11"], members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, d(1, 5))
    assert case.status == CaseStatus.MONITORED and case.identified_on == d(1, 14)
    _income(hh, actors.cadre, 2025, 19000)
    _income(hh, actors.cadre, 2026, 22000)  # 11,000 per person, above the 8,800 line
    _implemented(case)
    set_household(hh, actors.cadre, monitoring_contact="张三", monitoring_contact_phone="13800000001")
    hh.refresh_from_db()
    return hh, case


@pytest.fixture
def fresh(areas, actors):
    """Identified on 10 March, nothing else recorded: it fails most criteria."""
    hh = hf.household(areas["v11"], members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, d(3, 1))
    return hh, case


def test_an_eligible_household_is_proposed_and_the_check_is_kept(monitored, actors):
    hh, case = monitored
    checks = exits.exit_check(case, mode="assistance", now=at(PROPOSE_DAY))
    assert checks and all(c["ok"] for c in checks), checks
    exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(PROPOSE_DAY))
    case.refresh_from_db()
    assert case.status == CaseStatus.EXIT_IN_PROGRESS
    assert case.exit_mode == "assistance" and case.exit_started_on == PROPOSE_DAY
    assert case.exit_due_date == PROPOSE_DAY + dt.timedelta(days=25)  # the exit procedure's critical path
    assessment = ExitAssessment.objects.get(case=case)
    assert assessment.eligible and assessment.override_reason == "" and assessment.proposed_by == actors.cadre
    assert [c["code"] for c in assessment.checks] == [c["code"] for c in checks]
    last = changes("case", case.pk)[-2]
    assert (last.action, last.from_status, last.to_status, last.actor) == (
        "start_exit",
        "monitored",
        "exit_in_progress",
        actors.cadre,
    )
    hv = step(case, "home_verification", "exit")
    assert hv.status == StepStatus.AVAILABLE and hv.due_date == PROPOSE_DAY + dt.timedelta(days=5)


def test_each_failing_criterion_is_named_in_the_refusal(fresh, actors):
    hh, case = fresh
    before = StatusChange.objects.count()
    with pytest.raises(InvalidTransition) as exc:
        exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(d(4, 1)))
    failing = exc.value.fields["criteria"]
    codes = {c["code"] for c in failing}
    assert {"min_months", "income_above_threshold", "development_measures", "monitoring_contact"} <= codes
    assert exc.value.message.startswith("不符合风险消除条件：")
    for criterion in failing:
        assert criterion["label"] in exc.value.message
        if criterion["detail"]:
            assert criterion["detail"] in exc.value.message
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    assert not ExitAssessment.objects.exists() and StatusChange.objects.count() == before


def test_a_county_approver_overrides_with_a_written_reason(fresh, actors):
    hh, case = fresh
    exits.exit_propose(
        actor=actors.county_approver,
        case=case,
        mode="assistance",
        override_reason="  家庭主要劳动力已稳定就业，经县级研究同意提前消除  ",
        now=at(d(4, 1)),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.EXIT_IN_PROGRESS
    assessment = ExitAssessment.objects.get(case=case)
    assert not assessment.eligible
    assert assessment.override_reason == "家庭主要劳动力已稳定就业，经县级研究同意提前消除"
    assert assessment.proposed_by == actors.county_approver
    assert any(not c["ok"] and c["code"] == "min_months" for c in assessment.checks)
    row = StatusChange.objects.get(case=case, action="start_exit")
    assert row.reason == assessment.override_reason and row.data["override"] is True


def test_a_village_cadre_cannot_override(fresh, actors):
    hh, case = fresh
    with pytest.raises(NotAllowed, match="只有县级审定人员可以特批"):
        exits.exit_propose(
            actor=actors.cadre, case=case, mode="assistance", override_reason="村里同意", now=at(d(4, 1))
        )
    with pytest.raises(NotAllowed):
        exits.exit_propose(
            actor=actors.township_reviewer,
            case=case,
            mode="assistance",
            override_reason="乡镇同意",
            now=at(d(4, 1)),
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED and not ExitAssessment.objects.exists()


def test_proposals_outside_monitoring_and_unknown_modes_are_refused(areas, actors, monitored):
    hh, case = monitored
    with pytest.raises(ValidationError) as exc:
        exits.exit_propose(actor=actors.cadre, case=case, mode="magic", now=at(PROPOSE_DAY))
    assert "mode" in exc.value.message_dict
    other = hf.household(areas["v11"], actor=actors.cadre)
    identifying = open_case(other, actors.cadre, d(3, 1))
    with pytest.raises(InvalidTransition, match="只有监测帮扶中的户"):
        exits.exit_propose(actor=actors.county_approver, case=identifying, mode="natural", now=at(d(3, 2)))
    stranger = af.user("village_cadre", areas["v12"])
    with pytest.raises(NotAllowed):
        exits.exit_propose(actor=stranger, case=case, mode="assistance", now=at(PROPOSE_DAY))


def test_the_exit_procedure_ends_in_elimination(monitored, actors):
    hh, case = monitored
    exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(PROPOSE_DAY))
    hv = step(case, "home_verification", "exit")
    with pytest.raises(ValidationError) as exc:
        cases.step_complete(
            actor=actors.cadre,
            step=hv,
            data={**step_data(hv, d(7, 21)), "visitors": ["张三"]},
            now=at(d(7, 21)),
        )
    assert exc.value.message_dict["visitors"] == ["入户核查人员不少于2人。"]
    finished = run_procedure(case, actors, d(7, 21), procedure_kind="exit")
    case.refresh_from_db()
    hh.refresh_from_db()
    notice = case.notices.get(step__procedure_kind="exit")
    assert (notice.end_date - notice.start_date).days == 6  # seven days
    assert "拟标注风险消除对象公示" in notice.title and "帮扶消除" in notice.content
    assert case.status == CaseStatus.ELIMINATED and case.eliminated_on == finished - dt.timedelta(days=1)
    assert case.eliminated_on <= case.exit_due_date
    assert case.next_visit_due is None
    assert hh.monitoring_status == MonitoringStatus.ELIMINATED and hh.eliminated_on == case.eliminated_on
    assert hh.monitoring_category == "marginal"  # kept: what the household was monitored as
    # out of the key monitoring ledger: no open case, not among monitored households
    assert not MonitoringCase.objects.open().filter(household=hh).exists()
    key_ledger = Household.objects.filter(
        monitoring_status__in=[MonitoringStatus.MONITORED, MonitoringStatus.SECURED_TRACKING]
    )
    assert hh not in key_ledger
    assert case.clues.get().outcome == "风险已消除（帮扶消除）"
    last = changes("case", case.pk)[-1]
    assert (last.action, last.from_status, last.to_status, last.actor) == (
        "eliminate",
        "exit_in_progress",
        "eliminated",
        actors.county_approver,
    )
    assert all(s.status == StepStatus.DONE and s.duration_days is not None for s in case.steps.all())
    # nothing is left to do on the case
    assert available_actions(case, actors.county_approver, now=at(finished)) == []


@pytest.mark.parametrize("code", EXIT_CODES)
def test_exit_rejection_at_each_step_returns_the_case_to_monitoring(monitored, actors, code):
    hh, case = monitored
    exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(PROPOSE_DAY))
    day = run_procedure(case, actors, d(7, 21), procedure_kind="exit", until=code)
    target = step(case, code, "exit")
    cases.step_reject(actor=actors.for_step(target), step=target, reason="收入不稳定", now=at(day))
    case.refresh_from_db()
    hh.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    assert (case.exit_mode, case.exit_started_on, case.exit_due_date) == ("", None, None)
    assert hh.monitoring_status == MonitoringStatus.MONITORED
    assert not case.steps.filter(status__in=[StepStatus.WAITING, StepStatus.AVAILABLE]).exists()
    # the identification steps are untouched
    assert set(case.steps.filter(procedure_kind="identification").values_list("status", flat=True)) == {
        "done"
    }
    last = changes("case", case.pk)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason) == (
        "exit_rejected",
        "exit_in_progress",
        "monitored",
        f"{target.name}：收入不稳定",
    )
    # and the household can be proposed again later, with a fresh set of exit steps
    exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(day + dt.timedelta(days=30)))
    run_procedure(case, actors, day + dt.timedelta(days=31), procedure_kind="exit")
    case.refresh_from_db()
    assert case.status == CaseStatus.ELIMINATED
    assert case.steps.filter(procedure_kind="exit").count() == 2 * len(EXIT_CODES)


@pytest.fixture
def safety_net(areas, actors):
    hh = hf.household(areas["v11"], members=1, actor=actors.cadre, no_labour_safety_net=True)
    case, _day = identified_case(hh, actors, d(1, 5), risk_type_codes=["04"])
    return hh, case


def test_a_no_labour_safety_net_household_moves_to_secured_tracking(safety_net, actors, monitored):
    hh, case = safety_net
    action = next(
        a
        for a in available_actions(case, actors.county_approver, now=at(d(2, 1)))
        if a["action"] == "secure_tracking"
    )
    assert action["allowed"]
    with pytest.raises(NotAllowed):
        cases.case_secure_tracking(actor=actors.cadre, case=case, reason="兜底", now=at(d(2, 1)))
    with pytest.raises(InvalidTransition, match="帮扶消除"):
        exits.exit_propose(
            actor=actors.county_approver,
            case=case,
            mode="assistance",
            override_reason="特批",
            now=at(PROPOSE_DAY),
        )
    cases.case_secure_tracking(
        actor=actors.county_approver, case=case, reason="整户无劳动能力，低保兜底", now=at(d(2, 1))
    )
    case.refresh_from_db()
    hh.refresh_from_db()
    assert case.status == CaseStatus.SECURED_TRACKING
    assert hh.monitoring_status == MonitoringStatus.SECURED_TRACKING
    with pytest.raises(InvalidTransition, match="帮扶消除"):
        exits.exit_propose(actor=actors.county_approver, case=case, mode="assistance", now=at(PROPOSE_DAY))
    # an ordinary household cannot be moved to secured tracking
    other_hh, other = monitored
    with pytest.raises(InvalidTransition, match="只有整户无劳动能力兜底保障户"):
        cases.case_secure_tracking(actor=actors.county_approver, case=other, reason="兜底", now=at(d(2, 1)))
    refused = next(
        a
        for a in available_actions(other, actors.county_approver, now=at(d(2, 1)))
        if a["action"] == "secure_tracking"
    )
    assert not refused["allowed"] and "只有整户无劳动能力兜底保障户" in refused["reason"]


def test_a_rejected_exit_from_secured_tracking_returns_there(safety_net, actors):
    hh, case = safety_net
    cases.case_secure_tracking(actor=actors.county_approver, case=case, reason="低保兜底", now=at(d(2, 1)))
    exits.exit_propose(
        actor=actors.county_approver,
        case=case,
        mode="natural",
        override_reason="户主已随子女迁居外省",
        now=at(d(4, 1)),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.EXIT_IN_PROGRESS
    hv = step(case, "home_verification", "exit")
    cases.step_reject(actor=actors.cadre, step=hv, reason="户主仍在本村居住", now=at(d(4, 2)))
    case.refresh_from_db()
    hh.refresh_from_db()
    assert case.status == CaseStatus.SECURED_TRACKING
    assert hh.monitoring_status == MonitoringStatus.SECURED_TRACKING
    assert changes("case", case.pk)[-1].action == "exit_rejected_secured"


def test_natural_elimination_has_no_six_month_wait(fresh, actors):
    hh, case = fresh
    _income(hh, actors.cadre, 2025, 19000)
    _income(hh, actors.cadre, 2026, 22000)
    set_household(hh, actors.cadre, monitoring_contact="李四", monitoring_contact_phone="13800000002")
    checks = exits.exit_check(case, mode="natural", now=at(d(4, 1)))
    assert all(c["ok"] for c in checks), checks
    assert not any(c["code"] == "min_months" for c in checks)
    assert not all(c["ok"] for c in exits.exit_check(case, mode="assistance", now=at(d(4, 1))))
    exits.exit_propose(actor=actors.cadre, case=case, mode="natural", now=at(d(4, 1)))
    run_procedure(case, actors, d(4, 2), procedure_kind="exit")
    case.refresh_from_db()
    hh.refresh_from_db()
    assert case.status == CaseStatus.ELIMINATED and case.exit_mode == "natural"
    assert hh.monitoring_status == MonitoringStatus.ELIMINATED
    assert case.clues.get().outcome == "风险已消除（自然消除）"


def test_re_entry_after_exit_opens_a_new_case(monitored, actors):
    hh, case = monitored
    exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(PROPOSE_DAY))
    day = run_procedure(case, actors, d(7, 21), procedure_kind="exit")
    case.refresh_from_db()
    assert case.status == CaseStatus.ELIMINATED

    clue = clues.clue_create(
        actor=actors.cadre,
        channel="self_report",
        found_date=day,
        risk_type_codes=["05"],
        household=hh,
        now=at(day),
    )
    assert clue.status == ClueStatus.CASE_OPENED
    new = clue.case
    assert new.pk != case.pk and new.status == CaseStatus.IDENTIFYING
    assert new.due_date == day + dt.timedelta(days=15)
    assert MonitoringCase.objects.filter(household=hh).count() == 2
    hh.refresh_from_db()
    assert hh.monitoring_status == MonitoringStatus.IDENTIFYING
    case.refresh_from_db()
    assert case.status == CaseStatus.ELIMINATED and case.clues.count() == 1

    # one open case per household: the service refuses, and so does the database
    with pytest.raises(InvalidTransition, match="该户已有在办案件"):
        cases.case_open(actor=actors.cadre, household=hh, clues=[clue], now=at(day))
    with pytest.raises(IntegrityError), transaction.atomic():
        MonitoringCase.objects.create(
            household=hh,
            area_code=hh.area_code,
            status=CaseStatus.MONITORED,
            procedure=new.procedure,
            found_date=day,
            opened_at=at(day),
            due_date=day,
        )

    # the new case is rejected: the household goes back to "eliminated", not to nothing
    hv = step(new, "home_verification")
    cases.step_reject(
        actor=actors.cadre, step=hv, reason="经核实无新增风险", now=at(day + dt.timedelta(days=1))
    )
    hh.refresh_from_db()
    assert hh.monitoring_status == MonitoringStatus.ELIMINATED


def test_an_upheld_objection_to_the_exit_notice_keeps_the_household_monitored(monitored, actors):
    hh, case = monitored
    exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(PROPOSE_DAY))
    day = run_procedure(case, actors, d(7, 21), procedure_kind="exit", until="village_notice")
    vn = step(case, "village_notice", "exit")
    notice = cases.notice_post(actor=actors.cadre, step=vn, now=at(day))
    assert (notice.end_date - notice.start_date).days == 6
    objection = cases.objection_record(
        actor=actors.cadre, notice=notice, raised_on=day, content="该户仍有大额医疗欠款", now=at(day)
    )
    cases.objection_resolve(
        actor=actors.cadre, objection=objection, upheld=True, finding="医疗欠款属实", now=at(day, 16)
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED and case.exit_mode == ""
    last = StatusChange.objects.filter(case=case, object_type="case", action="exit_rejected").get()
    assert last.reason == "村级公示：公示异议成立：医疗欠款属实" and last.actor == actors.cadre


def test_the_exit_deadline_is_shown_with_the_others(monitored, actors):
    hh, case = monitored
    assert case_deadlines(case, now=at(PROPOSE_DAY))["exit"].state == "none"
    exits.exit_propose(actor=actors.cadre, case=case, mode="assistance", now=at(PROPOSE_DAY))
    case.refresh_from_db()
    assert case_deadlines(case, now=at(d(8, 1)))["exit"].state == "on_time"
    assert case_deadlines(case, now=at(d(8, 14), 23, 59))["exit"].state == "due_soon"
    assert case_deadlines(case, now=at(d(8, 15)))["exit"].is_overdue  # due 14 August
