"""The identification procedure end to end: overlapped and serial runs, objections, rejection at
every step, return, green channel, and the category and risk-type rules."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from households import services as household_services
from households.models import MonitoringStatus
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    CountySettings,
    MeasureStatus,
    MonitoringCase,
    ObjectionStatus,
    StatusChange,
    StepStatus,
)
from monitoring.rules import guards
from monitoring.selectors import available_actions
from monitoring.services import assistance, cases, clues
from tests.households import factories as hf
from tests.monitoring.helpers import (
    OVERLAPPED_CODES,
    OVERLAPPED_NAME,
    SERIAL_NAME,
    SH,
    at,
    changes,
    complete,
    d,
    open_case,
    procedure,
    run_procedure,
    step,
    step_data,
    use_procedure,
)


@pytest.fixture
def hh(areas, cadre):
    return hf.household(areas["v11"], members=3, actor=cadre, phone="13912345678")


def _action(actions, action, on_step=None):
    """The one entry of ``available_actions`` for ``action`` (on ``on_step``)."""
    found = [a for a in actions if a["action"] == action and (on_step is None or a["step"] == on_step.pk)]
    assert len(found) == 1, (action, on_step, actions)
    return found[0]


def _assert_audited(case: MonitoringCase) -> None:
    """Every status change of the case and its steps has its row: who, when, from, to."""
    rows = list(StatusChange.objects.filter(case=case))
    for s in case.steps.all():
        mine = [
            r
            for r in rows
            if r.object_type == "step" and r.object_id == s.pk and r.from_status != r.to_status
        ]
        path = [mine[0].from_status] + [r.to_status for r in mine] if mine else [StepStatus.WAITING]
        assert path[-1] == s.status, (s.code, path)
        for before, after in zip(mine, mine[1:], strict=False):
            assert before.to_status == after.from_status
    case_path = [r for r in rows if r.object_type == "case" and r.object_id == case.pk and r.to_status]
    assert case_path[0].from_status == "" and case_path[-1].to_status == case.status
    for before, after in zip(case_path, case_path[1:], strict=False):
        assert before.to_status == after.from_status
    for r in rows:
        assert r.at is not None and r.at.tzinfo is not None
        assert r.action


# --- full runs -----------------------------------------------------------------------------


def test_overlapped_procedure_finishes_inside_15_days(hh, actors):
    case = open_case(hh, actors.cadre, d(3, 1))
    assert case.procedure.name == OVERLAPPED_NAME
    assert procedure(OVERLAPPED_NAME).planned_days() == 15
    finished = run_procedure(case, actors, d(3, 2), category="marginal")
    case.refresh_from_db()
    hh.refresh_from_db()
    assert case.status == CaseStatus.MONITORED and case.category == "marginal"
    assert case.identified_on == d(3, 10) <= case.due_date == d(3, 16)
    assert finished == d(3, 11)
    assert hh.monitoring_status == MonitoringStatus.MONITORED
    assert hh.monitoring_category == "marginal" and hh.identified_on == d(3, 10)
    latest = hh.history.order_by("-history_id").first()  # dated by the procedure's now, not the clock
    assert (
        latest.history_change_reason == "县级审定纳入监测" and latest.history_user == actors.county_approver
    )
    assert case.next_visit_due == d(4, 9)
    # step by step: when it opened, when it was done, how many days it took
    got = {
        s.code: (s.available_at.astimezone(SH).date(), s.completed_at.astimezone(SH).date(), s.duration_days)
        for s in case.steps.all()
    }
    assert got == {
        "home_verification": (d(3, 1), d(3, 2), 1),
        "data_comparison": (d(3, 2), d(3, 3), 1),
        "village_review": (d(3, 2), d(3, 3), 1),
        "township_review": (d(3, 2), d(3, 3), 1),
        "village_notice": (d(3, 3), d(3, 9), 6),
        "county_approval": (d(3, 9), d(3, 10), 1),
    }
    # the notice names the household but shows no ID number or phone
    notice = case.notices.get()
    assert (notice.start_date, notice.end_date) == (d(3, 4), d(3, 8))
    assert hh.head.name in notice.content and "家庭人口：3人" in notice.content
    for member in hh.members.all():
        assert member.id_number not in notice.content
    assert "13912345678" not in notice.content
    # the clue heard how it ended
    clue = case.clues.get()
    assert clue.outcome == "已纳入监测（边缘易致贫户）" and clue.outcome_at == at(d(3, 10))
    # the audit: the case's own changes, who did them and when
    case_rows = [
        (r.action, r.from_status, r.to_status, r.actor, r.at)
        for r in changes("case", case.pk)
        if r.action != "score"  # the identification score, kept at the opening (test_scoring.py)
    ]
    assert case_rows == [
        ("open", "", "identifying", actors.cadre, at(d(3, 1))),
        ("start_identification_procedure", "identifying", "identifying", actors.cadre, at(d(3, 1))),
        ("identify", "identifying", "monitored", actors.county_approver, at(d(3, 10))),
    ]
    for s in case.steps.all():
        rows = [(r.action, r.from_status, r.to_status) for r in changes("step", s.pk)]
        transitions = [r for r in rows if r[0] != "post_notice"]
        assert transitions == [("unlock", "waiting", "available"), ("complete", "available", "done")]
        done = changes("step", s.pk)[-1]
        assert done.actor == actors.for_step(s) and done.at == s.completed_at
        assert done.data == s.data
    _assert_audited(case)


def test_serial_procedure_from_the_default_settings(hh, actors):
    use_procedure(SERIAL_NAME)
    assert procedure(SERIAL_NAME).planned_days() == 30
    case = open_case(hh, actors.cadre, d(3, 1))
    assert case.procedure.name == SERIAL_NAME
    # serial: only one step at a time
    assert list(case.steps.filter(status=StepStatus.AVAILABLE).values_list("code", flat=True)) == [
        "home_verification"
    ]
    assert step(case, "home_verification").due_date == d(3, 8)  # 7 days in the serial procedure
    run_procedure(case, actors, d(3, 2), category="marginal")
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    got = {s.code: (s.completed_at.astimezone(SH).date(), s.duration_days) for s in case.steps.all()}
    assert got == {
        "home_verification": (d(3, 2), 1),
        "village_review": (d(3, 3), 1),
        "village_notice": (d(3, 9), 6),
        "township_review": (d(3, 10), 1),
        "data_comparison": (d(3, 11), 1),
        "county_approval": (d(3, 12), 1),
    }
    assert case.identified_on <= d(3, 1) + dt.timedelta(days=30)
    # each step waited for the one before it: it opened when that one was done
    ordered = list(case.steps.order_by("sort_order"))
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert after.available_at == before.completed_at
    _assert_audited(case)


def test_a_county_row_overrides_the_default_procedure(hh, actors, areas):
    use_procedure(SERIAL_NAME, county=areas["county"])
    assert CountySettings.objects.get(county__isnull=True).identification_procedure.name == OVERLAPPED_NAME
    case = open_case(hh, actors.cadre, d(3, 1))
    assert case.procedure.name == SERIAL_NAME


def test_a_county_without_a_procedure_cannot_open_cases(hh, actors, areas):
    CountySettings.objects.create(county=areas["county"], identification_procedure=None)
    with pytest.raises(InvalidTransition, match="尚未设定识别程序"):
        clues.clue_create(
            actor=actors.cadre,
            channel="self_report",
            found_date=d(3, 1),
            risk_type_codes=["01"],
            household=hh,
            now=at(d(3, 1)),
        )
    assert not MonitoringCase.objects.exists()


def test_step_data_is_checked_and_nothing_is_written_on_refusal(hh, actors):
    case = open_case(hh, actors.cadre, d(3, 1))
    hv = step(case, "home_verification")
    before = StatusChange.objects.count()
    with pytest.raises(ValidationError) as exc:
        cases.step_complete(
            actor=actors.cadre,
            step=hv,
            data={"visited_on": "2026-03-05", "visitors": [], "findings": ""},
            now=at(d(3, 2)),
        )
    assert set(exc.value.message_dict) == {"visited_on", "visitors", "authorization_signed", "findings"}
    hv.refresh_from_db()
    assert hv.status == StepStatus.AVAILABLE and StatusChange.objects.count() == before
    complete(case, "home_verification", actors, at(d(3, 2)))
    vr = step(case, "village_review")
    with pytest.raises(ValidationError) as exc:
        cases.step_complete(
            actor=actors.cadre,
            step=vr,
            data={**step_data(vr, d(3, 3)), "attendees": 5, "votes_for": 6},
            now=at(d(3, 3)),
        )
    assert "votes_for" in exc.value.message_dict


# --- notice and objections -----------------------------------------------------------------


@pytest.fixture
def in_notice(hh, actors):
    """A case whose notice runs 4–8 March; all other steps before approval are done."""
    case = open_case(hh, actors.cadre, d(3, 1))
    run_procedure(case, actors, d(3, 2), until="village_notice")
    assert set(case.steps.filter(status=StepStatus.DONE).values_list("code", flat=True)) == {
        "home_verification",
        "data_comparison",
        "village_review",
        "township_review",
    }
    notice = cases.notice_post(actor=actors.cadre, step=step(case, "village_notice"), now=at(d(3, 4)))
    assert (notice.start_date, notice.end_date) == (d(3, 4), d(3, 8))
    return case, notice


def test_notice_cannot_close_before_it_has_run_its_days(in_notice, actors):
    case, notice = in_notice
    vn = step(case, "village_notice")
    actions = available_actions(case, actors.cadre, now=at(d(3, 8), 23, 59))
    done = _action(actions, "complete", step(case, "village_notice"))
    assert not done["allowed"] and done["reason"] == "公示期未满（至2026-03-08），期满后方可办结。"
    with pytest.raises(InvalidTransition, match="公示期未满"):
        cases.step_complete(actor=actors.cadre, step=vn, data={}, now=at(d(3, 8), 23, 59))
    # approval is not possible either: it waits for the notice
    approval = _action(
        available_actions(case, actors.county_approver, now=at(d(3, 8))),
        "complete",
        step(case, "county_approval"),
    )
    assert not approval["allowed"] and "村级公示" in approval["reason"]
    with pytest.raises(InvalidTransition):
        complete(case, "county_approval", actors, at(d(3, 8)))
    assert _action(
        available_actions(case, actors.cadre, now=at(d(3, 9))), "complete", step(case, "village_notice")
    )["allowed"]
    cases.step_complete(actor=actors.cadre, step=vn, data={}, now=at(d(3, 9)))


def test_objection_blocks_the_notice_and_approval_until_dismissed(in_notice, actors, hh):
    case, notice = in_notice
    objection = cases.objection_record(
        actor=actors.cadre,
        notice=notice,
        raised_on=d(3, 5),
        raised_by="村民甲",
        content="该户有营运车辆",
        now=at(d(3, 5)),
    )
    assert objection.status == ObjectionStatus.OPEN
    actions = available_actions(case, actors.cadre, now=at(d(3, 9)))
    blocked = _action(actions, "complete", step(case, "village_notice"))
    assert not blocked["allowed"] and blocked["reason"] == "公示期间有未处理的异议，须先调查处理。"
    with pytest.raises(InvalidTransition, match="未处理的异议"):
        cases.step_complete(actor=actors.cadre, step=step(case, "village_notice"), data={}, now=at(d(3, 9)))
    approval = _action(
        available_actions(case, actors.county_approver, now=at(d(3, 9))),
        "complete",
        step(case, "county_approval"),
    )
    assert not approval["allowed"]

    with pytest.raises(ValidationError) as exc:
        cases.objection_resolve(
            actor=actors.cadre, objection=objection, upheld=False, finding=" ", now=at(d(3, 9))
        )
    assert "finding" in exc.value.message_dict
    cases.objection_resolve(
        actor=actors.cadre, objection=objection, upheld=False, finding="车辆已于去年转让", now=at(d(3, 9))
    )
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED and objection.resolved_by == actors.cadre
    with pytest.raises(InvalidTransition, match="该异议已处理"):
        cases.objection_resolve(
            actor=actors.cadre, objection=objection, upheld=True, finding="再议", now=at(d(3, 9))
        )
    cases.step_complete(actor=actors.cadre, step=step(case, "village_notice"), data={}, now=at(d(3, 9)))
    complete(case, "county_approval", actors, at(d(3, 10)))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    rows = [(r.action, r.from_status, r.to_status, r.actor) for r in changes("objection", objection.pk)]
    assert rows == [
        ("raise", "", "open", actors.cadre),
        ("resolve", "open", "dismissed", actors.cadre),
    ]
    # the notice is over: no more objections
    with pytest.raises(InvalidTransition, match="公示已结束"):
        cases.objection_record(
            actor=actors.cadre, notice=notice, raised_on=d(3, 8), content="迟到", now=at(d(3, 10))
        )


def test_objection_dates_must_fall_in_the_notice(in_notice, actors):
    case, notice = in_notice
    with pytest.raises(ValidationError) as exc:
        cases.objection_record(
            actor=actors.cadre, notice=notice, raised_on=d(3, 3), content="早了", now=at(d(3, 5))
        )
    assert "2026-03-04至2026-03-08" in exc.value.message_dict["raised_on"][0]
    with pytest.raises(ValidationError, match="晚于今天"):
        cases.objection_record(
            actor=actors.cadre, notice=notice, raised_on=d(3, 7), content="未来", now=at(d(3, 5))
        )
    with pytest.raises(ValidationError) as exc:
        cases.objection_record(
            actor=actors.cadre, notice=notice, raised_on=d(3, 5), content="", now=at(d(3, 5))
        )
    assert "content" in exc.value.message_dict
    assert not case.objections.exists()


def test_upheld_objection_rejects_the_case_and_feeds_back(in_notice, actors, hh):
    case, notice = in_notice
    objection = cases.objection_record(
        actor=actors.cadre, notice=notice, raised_on=d(3, 6), content="家中有人在国企工作", now=at(d(3, 6))
    )
    cases.objection_resolve(
        actor=actors.township_reviewer,
        objection=objection,
        upheld=True,
        finding="经核实该户长子在国企工作，收入稳定",
        now=at(d(3, 7)),
    )
    case.refresh_from_db()
    hh.refresh_from_db()
    reason = "村级公示：公示异议成立：经核实该户长子在国企工作，收入稳定"
    assert case.status == CaseStatus.NOT_INCLUDED and case.decision_reason == reason
    assert case.rejected_at == at(d(3, 7))
    assert hh.monitoring_status == MonitoringStatus.NONE
    assert case.clues.get().outcome == f"不予纳入：{reason}"
    assert not case.steps.filter(status__in=[StepStatus.WAITING, StepStatus.AVAILABLE]).exists()
    assert step(case, "village_notice").status == StepStatus.REJECTED
    # the person who found the objection upheld is the one on record for the rejection
    reject = changes("case", case.pk)[-2:]
    assert [(r.action, r.actor) for r in reject] == [
        ("reject", actors.township_reviewer),
        ("objection_upheld", actors.township_reviewer),
    ]
    notice_step = changes("step", step(case, "village_notice").pk)[-1]
    assert (notice_step.action, notice_step.actor) == ("reject", actors.township_reviewer)
    _assert_audited(case)


# --- rejection and return ------------------------------------------------------------------


@pytest.mark.parametrize("code", OVERLAPPED_CODES)
def test_rejection_at_each_step(hh, actors, code):
    case = open_case(hh, actors.cadre, d(3, 1))
    day = run_procedure(case, actors, d(3, 2), until=code)
    target = step(case, code)
    assert target.status == StepStatus.AVAILABLE
    done_before = set(case.steps.filter(status=StepStatus.DONE).values_list("code", flat=True))
    with pytest.raises(ValidationError):
        cases.step_reject(actor=actors.for_step(target), step=target, reason="  ", now=at(day))
    cases.step_reject(actor=actors.for_step(target), step=target, reason="家庭收入高于监测范围", now=at(day))
    case.refresh_from_db()
    hh.refresh_from_db()
    reason = f"{target.name}：家庭收入高于监测范围"
    assert case.status == CaseStatus.NOT_INCLUDED
    assert case.decision_reason == reason and case.rejected_at == at(day)
    statuses = {s.code: s.status for s in case.steps.all()}
    assert statuses[code] == StepStatus.REJECTED
    for other, status in statuses.items():
        if other == code:
            continue
        assert status == (StepStatus.DONE if other in done_before else StepStatus.CANCELLED), other
    cancelled = [r for r in StatusChange.objects.filter(case=case, action="cancel")]
    assert len(cancelled) == len(statuses) - 1 - len(done_before)
    assert all(r.reason == "家庭收入高于监测范围" and r.actor == actors.for_step(target) for r in cancelled)
    assert hh.monitoring_status == MonitoringStatus.NONE
    assert case.clues.get().outcome == f"不予纳入：{reason}"
    last = changes("case", case.pk)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason, last.actor) == (
        "reject",
        "identifying",
        "not_included",
        reason,
        actors.for_step(target),
    )
    # nothing more can happen to the case's steps
    assert all(not a["allowed"] for a in available_actions(case, actors.county_approver, now=at(day)))
    _assert_audited(case)


def test_township_review_returns_to_home_verification_and_then_completes(hh, actors):
    case = open_case(hh, actors.cadre, d(3, 1))
    complete(case, "home_verification", actors, at(d(3, 2)))
    complete(case, "data_comparison", actors, at(d(3, 3)))
    tr = step(case, "township_review")
    returned = _action(
        available_actions(case, actors.township_reviewer, now=at(d(3, 3))),
        "return",
        step(case, "township_review"),
    )
    assert returned["allowed"]
    assert not _action(
        available_actions(case, actors.cadre, now=at(d(3, 3))), "return", step(case, "township_review")
    )["allowed"]
    with pytest.raises(ValidationError):
        cases.step_return(actor=actors.township_reviewer, step=tr, reason="", now=at(d(3, 3)))
    cases.step_return(actor=actors.township_reviewer, step=tr, reason="缺少农户签字的授权书", now=at(d(3, 3)))

    statuses = {s.code: s.status for s in case.steps.all()}
    assert statuses == {
        "home_verification": StepStatus.AVAILABLE,
        "data_comparison": StepStatus.DONE,
        "village_review": StepStatus.WAITING,
        "village_notice": StepStatus.WAITING,
        "township_review": StepStatus.WAITING,
        "county_approval": StepStatus.WAITING,
    }
    hv = step(case, "home_verification")
    assert hv.due_date == d(3, 6) and hv.completed_at is None and hv.duration_days is None
    assert hv.reason == "缺少农户签字的授权书"
    tr.refresh_from_db()
    assert tr.times_returned == 1 and tr.due_date is None and tr.reason == "缺少农户签字的授权书"
    rows = [
        (r.object_type, r.action, r.from_status, r.to_status, r.reason)
        for r in StatusChange.objects.filter(case=case, at=at(d(3, 3)), action__in=["return", "reopen"])
    ]
    assert ("step", "return", "available", "waiting", "缺少农户签字的授权书") in rows
    assert ("step", "reopen", "done", "available", "缺少农户签字的授权书") in rows
    assert ("step", "return", "available", "waiting", "前置步骤被退回") in rows  # village review
    case.refresh_from_db()
    assert case.status == CaseStatus.IDENTIFYING and case.due_date == d(3, 16)

    complete(case, "home_verification", actors, at(d(3, 4)))
    hv.refresh_from_db()
    assert hv.duration_days == 1  # counted from the return
    run_procedure(case, actors, d(3, 5))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED and case.identified_on <= case.due_date
    _assert_audited(case)


def test_county_approval_can_return_to_township_review(hh, actors):
    use_procedure(SERIAL_NAME)
    case = open_case(hh, actors.cadre, d(3, 1))
    day = run_procedure(case, actors, d(3, 2), until="county_approval")
    ca = step(case, "county_approval")
    cases.step_return(actor=actors.county_approver, step=ca, reason="比对结论不完整", now=at(day))
    assert step(case, "data_comparison").status == StepStatus.AVAILABLE
    assert step(case, "county_approval").status == StepStatus.WAITING
    run_procedure(case, actors, day + dt.timedelta(days=1))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED


# --- green channel -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["0201", "0203", "0206", "0299", "05"])
def test_green_channel_for_disaster_and_accident(hh, actors, code):
    case = open_case(hh, actors.cadre, d(3, 1), risk_type_codes=[code])
    offer = _action(available_actions(case, actors.county_approver, now=at(d(3, 1))), "green_channel")
    assert offer["allowed"]
    cadre_view = _action(available_actions(case, actors.cadre, now=at(d(3, 1))), "green_channel")
    assert not cadre_view["allowed"] and cadre_view["reason"] == "须由乡镇或县级人员办理。"
    with pytest.raises(NotAllowed):
        cases.case_green_channel(actor=actors.cadre, case=case, reason="房屋倒塌", now=at(d(3, 1)))
    with pytest.raises(ValidationError):
        cases.case_green_channel(actor=actors.county_approver, case=case, reason="", now=at(d(3, 1)))
    cases.case_green_channel(
        actor=actors.township_reviewer, case=case, reason="房屋倒塌", now=at(d(3, 1), 15)
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.PROVISIONAL and case.green_channel and case.provisional_on == d(3, 1)
    last = changes("case", case.pk)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason, last.actor) == (
        "green_channel",
        "identifying",
        "provisional",
        "房屋倒塌",
        actors.township_reviewer,
    )
    assert not any(
        a["action"] == "green_channel"
        for a in available_actions(case, actors.county_approver, now=at(d(3, 2)))
    )


@pytest.mark.parametrize("code", ["01", "03", "07", "09"])
def test_no_green_channel_for_other_risks(hh, actors, code):
    case = open_case(hh, actors.cadre, d(3, 1), risk_type_codes=[code])
    offer = _action(available_actions(case, actors.county_approver, now=at(d(3, 1))), "green_channel")
    assert not offer["allowed"] and offer["reason"] == "只有自然灾害、意外事故等风险可走绿色通道。"
    with pytest.raises(InvalidTransition, match="只有自然灾害、意外事故等风险可走绿色通道"):
        cases.case_green_channel(actor=actors.county_approver, case=case, reason="紧急", now=at(d(3, 1)))
    case.refresh_from_db()
    assert case.status == CaseStatus.IDENTIFYING


@pytest.fixture
def provisional(hh, actors):
    """A flood case on the green channel with three measures: implemented, in progress, planned."""
    case = open_case(hh, actors.cadre, d(3, 1), risk_type_codes=["0201"])
    cases.case_green_channel(actor=actors.county_approver, case=case, reason="洪水冲毁房屋", now=at(d(3, 1)))
    case.refresh_from_db()
    made = assistance.plan_set(
        actor=actors.county_approver,
        case=case,
        items=[{"measure": "M0806"}, {"measure": "M0803"}, {"measure": "M0302"}],
        reason="先行帮扶",
        now=at(d(3, 2)),
    )
    by_code = {m.measure.code: m for m in made}
    assistance.measure_complete(
        actor=actors.county_approver,
        measure=by_code["M0806"],
        actual_date=d(3, 2),
        amount="2000",
        now=at(d(3, 2)),
    )
    assistance.measure_start(actor=actors.county_approver, measure=by_code["M0803"], now=at(d(3, 2)))
    return case, by_code


def test_measures_can_be_added_while_provisional(provisional, hh, actors):
    case, by_code = provisional
    statuses = dict(case.measures.values_list("measure__code", "status"))
    assert statuses == {"M0806": "implemented", "M0803": "in_progress", "M0302": "planned"}
    # the procedure runs on and identification keeps the measures
    run_procedure(case, actors, d(3, 3), category="sudden", explanation="洪水冲毁房屋，损失约8万元")
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED and case.green_channel
    assert dict(case.measures.values_list("measure__code", "status")) == statuses


def test_measures_cannot_be_added_before_the_green_channel(hh, actors):
    case = open_case(hh, actors.cadre, d(3, 1), risk_type_codes=["0201"])
    with pytest.raises(InvalidTransition):
        assistance.plan_set(
            actor=actors.county_approver, case=case, items=[{"measure": "M0806"}], now=at(d(3, 2))
        )


def test_rejection_after_green_channel_keeps_implemented_measures_and_stops_the_rest(provisional, hh, actors):
    case, by_code = provisional
    complete(case, "home_verification", actors, at(d(3, 3)))
    dc = step(case, "data_comparison")
    cases.step_reject(
        actor=actors.county_approver, step=dc, reason="比对发现家庭有商品房两套", now=at(d(3, 4))
    )
    case.refresh_from_db()
    hh.refresh_from_db()
    assert case.status == CaseStatus.NOT_INCLUDED
    assert hh.monitoring_status == MonitoringStatus.NONE
    measures = {m.measure.code: m for m in AssistanceMeasure.objects.filter(case=case)}
    assert measures["M0806"].status == MeasureStatus.IMPLEMENTED
    assert measures["M0806"].actual_date == d(3, 2) and str(measures["M0806"].amount) == "2000.00"
    assert measures["M0803"].status == MeasureStatus.STOPPED
    assert measures["M0302"].status == MeasureStatus.STOPPED
    assert "不予纳入，停止实施" in measures["M0302"].note
    stops = StatusChange.objects.filter(case=case, object_type="measure", action="stop")
    assert sorted((r.from_status, r.to_status) for r in stops) == [
        ("in_progress", "stopped"),
        ("planned", "stopped"),
    ]
    assert all(r.actor == actors.county_approver and r.at == at(d(3, 4)) for r in stops)
    assert case.clues.get().outcome == "不予纳入：县级信息比对：比对发现家庭有商品房两套"
    last = changes("case", case.pk)[-1]
    assert (last.from_status, last.to_status) == ("provisional", "not_included")


# --- category and risk types -------------------------------------------------------------


@pytest.mark.parametrize(
    ("household_type", "category", "explanation", "error"),
    [
        ("out_of_poverty", "unstable", "", None),
        ("ordinary", "unstable", "", "脱贫不稳定户只能是脱贫户"),
        ("ordinary", "marginal", "", None),
        ("out_of_poverty", "marginal", "", "边缘易致贫户不能是脱贫户"),
        ("ordinary", "sudden", "", "突发严重困难户须说明"),
        ("ordinary", "sudden", "  ", "突发严重困难户须说明"),
        ("ordinary", "sudden", "住院自付医疗费6万元", None),
        ("out_of_poverty", "sudden", "车祸致劳动力丧失", None),
        ("ordinary", "", "", "请选择监测对象类别"),
        ("ordinary", "rich", "", "请选择监测对象类别"),
    ],
)
def test_category_must_fit_the_household(areas, actors, household_type, category, explanation, error):
    hh = hf.household(areas["v11"], actor=actors.cadre, household_type=household_type)
    case = open_case(hh, actors.cadre, d(3, 1))
    day = run_procedure(case, actors, d(3, 2), until="county_approval")
    ca = step(case, "county_approval")
    data = {"category": category, "explanation": explanation, "opinion": "审定"}
    if error is None:
        cases.step_complete(actor=actors.county_approver, step=ca, data=data, now=at(day))
        case.refresh_from_db()
        hh.refresh_from_db()
        assert case.status == CaseStatus.MONITORED and hh.monitoring_category == category
        return
    before = StatusChange.objects.count()
    with pytest.raises(ValidationError) as exc:
        cases.step_complete(actor=actors.county_approver, step=ca, data=data, now=at(day))
    assert error in exc.value.message_dict["category"][0]
    ca.refresh_from_db()
    case.refresh_from_db()
    assert ca.status == StepStatus.AVAILABLE and case.status == CaseStatus.IDENTIFYING
    assert StatusChange.objects.count() == before


def test_category_rule_as_a_pure_function():
    assert guards.category_error("unstable", "out_of_poverty") is None
    assert guards.category_error("unstable", "ordinary")
    assert guards.category_error("marginal", "out_of_poverty")
    assert guards.category_error("sudden", "out_of_poverty")
    assert guards.category_error("sudden", "ordinary", explanation="大病") is None
    assert guards.category_warning("marginal", 9000, 8800)
    assert guards.category_warning("sudden", 9000, 8800) is None
    assert guards.category_warning("marginal", 8000, 8800) is None


ROOTS = {"01": "01", "02": "02", "0201": "02", "03": "03", "04": "04", "05": "05", "06": "06", "07": "07"}


@pytest.mark.parametrize(
    ("codes", "error"),
    [
        ([], "至少选择一种风险类型"),
        (["01"], None),
        (["01", "03", "04", "05", "06"], None),
        (["01", "03", "04", "05", "06", "07"], "风险类型最多5种"),
        (["02"], "自然灾害须选择具体子项"),
        (["0201"], None),
        (["88"], "未知的风险类型：88"),
        (["01", "01", "01", "01", "01", "01"], None),  # duplicates count once
    ],
)
def test_risk_type_rule(codes, error):
    err = guards.risk_types_error(codes, roots=ROOTS, needs_subtype={"02"})
    assert (err is None) if error is None else (error in err)


def test_risk_types_through_the_services(hh, actors):
    with pytest.raises(ValidationError) as exc:
        clues.clue_create(
            actor=actors.cadre,
            channel="self_report",
            found_date=d(3, 1),
            risk_type_codes=["01", "03", "04", "05", "06", "07"],
            household=hh,
            now=at(d(3, 1)),
        )
    assert "最多5种" in exc.value.message_dict["risk_type_codes"][0]
    case = open_case(hh, actors.cadre, d(3, 1))
    hv = step(case, "home_verification")
    with pytest.raises(ValidationError) as exc:
        cases.step_complete(
            actor=actors.cadre,
            step=hv,
            data={**step_data(hv, d(3, 2)), "risk_type_codes": ["02"]},
            now=at(d(3, 2)),
        )
    assert "子项" in exc.value.message_dict["risk_type_codes"][0]
    cases.step_complete(
        actor=actors.cadre,
        step=hv,
        data={**step_data(hv, d(3, 2)), "risk_type_codes": ["0201", "05"]},
        now=at(d(3, 2)),
    )
    assert sorted(case.risk_types.values_list("code", flat=True)) == ["0201", "05"]


def test_a_county_may_allow_fewer_risk_types(hh, actors, areas):
    default = CountySettings.objects.get(county__isnull=True)
    CountySettings.objects.create(
        county=areas["county"],
        max_risk_types=2,
        identification_procedure=default.identification_procedure,
        exit_procedure=default.exit_procedure,
    )
    case = open_case(hh, actors.cadre, d(3, 1), risk_type_codes=["01", "03"])
    hv = step(case, "home_verification")
    with pytest.raises(ValidationError, match="最多2种"):
        cases.step_complete(
            actor=actors.cadre,
            step=hv,
            data={**step_data(hv, d(3, 2)), "risk_type_codes": ["01", "03", "05"]},
            now=at(d(3, 2)),
        )


def test_income_above_the_line_is_a_warning_not_a_refusal(hh, actors):
    household_services.income_record_set(actor=actors.cadre, household=hh, year=2025, wages="60000")
    case = open_case(hh, actors.cadre, d(3, 1))
    warnings = cases.identification_warnings(case, "marginal", today=d(3, 10))
    assert len(warnings) == 1 and "不低于监测线" in warnings[0]
    assert cases.identification_warnings(case, "sudden", today=d(3, 10)) == []


def test_a_notice_cannot_start_before_the_review_was_done(hh, actors):
    case = open_case(hh, actors.cadre, d(3, 1))
    run_procedure(case, actors, d(3, 2), until="village_notice")
    vn = step(case, "village_notice")
    assert vn.available_at == at(d(3, 3))
    with pytest.raises(ValidationError) as exc:
        cases.notice_post(actor=actors.cadre, step=vn, start_date=d(3, 2), now=at(d(3, 4)))
    assert "2026-03-03" in exc.value.message_dict["start_date"][0]
    with pytest.raises(ValidationError, match="前后7天内"):
        cases.notice_post(actor=actors.cadre, step=vn, start_date=d(3, 12), now=at(d(3, 4)))
    notice = cases.notice_post(actor=actors.cadre, step=vn, start_date=d(3, 3), now=at(d(3, 4)))
    assert (notice.start_date, notice.end_date) == (d(3, 3), d(3, 7))
    with pytest.raises(InvalidTransition, match="当前不能发布公示"):
        cases.notice_post(actor=actors.county_approver, step=step(case, "county_approval"), now=at(d(3, 4)))


def test_posting_the_notice_again_keeps_its_objections(in_notice, actors):
    case, notice = in_notice
    vn = step(case, "village_notice")
    objection = cases.objection_record(
        actor=actors.cadre, notice=notice, raised_on=d(3, 5), content="该户有营运车辆", now=at(d(3, 5))
    )
    # re-posting would restart the period and so wipe the objection's block: refused
    with pytest.raises(InvalidTransition, match="未处理的异议"):
        cases.notice_post(actor=actors.cadre, step=vn, now=at(d(3, 6)))
    cases.objection_resolve(
        actor=actors.cadre, objection=objection, upheld=False, finding="车辆已转让", now=at(d(3, 6))
    )
    again = cases.notice_post(actor=actors.cadre, step=vn, now=at(d(3, 6)))
    assert again.pk == notice.pk and (again.start_date, again.end_date) == (d(3, 6), d(3, 10))
    assert again.objections.get() == objection  # still on file
    with pytest.raises(InvalidTransition, match="公示期未满（至2026-03-10）"):
        cases.step_complete(actor=actors.cadre, step=vn, data={}, now=at(d(3, 9)))
    cases.step_complete(actor=actors.cadre, step=vn, data={}, now=at(d(3, 11)))
    posts = StatusChange.objects.filter(object_type="step", object_id=vn.pk, action="post_notice")
    assert [r.data["start"] for r in posts] == ["2026-03-04", "2026-03-06"]
