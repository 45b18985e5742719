import datetime as dt
from zoneinfo import ZoneInfo

from monitoring.models import CaseStatus, StepStatus
from monitoring.services import cases, clues
from tests.households import factories as hf

SH = ZoneInfo("Asia/Shanghai")


def at(day):
    return dt.datetime(2026, 3, day, 10, 0, tzinfo=SH)


def test_overlapped_procedure_in_15_days(areas, cadre, township_reviewer, county_approver):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    clue = clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=dt.date(2026, 3, 1),
        risk_type_codes=["01"],
        household=hh,
        now=at(1),
    )
    case = clue.case
    assert case.status == CaseStatus.IDENTIFYING and case.due_date == dt.date(2026, 3, 16)
    step = lambda code: case.steps.get(code=code)  # noqa: E731
    cases.step_complete(
        actor=cadre,
        step=step("home_verification"),
        now=at(2),
        data={
            "visited_on": "2026-03-02",
            "visitors": ["张三"],
            "authorization_signed": True,
            "findings": "住院",
        },
    )
    cases.step_complete(
        actor=county_approver, step=step("data_comparison"), now=at(3), data={"findings": "无异常"}
    )
    cases.step_complete(
        actor=township_reviewer, step=step("township_review"), now=at(3), data={"opinion": "同意"}
    )
    cases.step_complete(
        actor=cadre,
        step=step("village_review"),
        now=at(3),
        data={
            "held_on": "2026-03-03",
            "attendees": 9,
            "votes_for": 9,
            "votes_against": 0,
            "votes_abstain": 0,
            "minutes": "同意",
        },
    )
    notice = cases.notice_post(actor=cadre, step=step("village_notice"), now=at(4))
    assert "1101" not in notice.content
    cases.step_complete(actor=cadre, step=step("village_notice"), now=at(9))
    cases.step_complete(
        actor=county_approver, step=step("county_approval"), now=at(10), data={"category": "marginal"}
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    assert case.identified_on == dt.date(2026, 3, 10)
    assert all(s.status == StepStatus.DONE for s in case.steps.all())
