"""Breach records: each missed deadline once, escalated one level up."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.models import Breach, CaseStatus, CountySettings, StepStatus
from monitoring.rules import deadlines
from monitoring.selectors import case_deadlines
from monitoring.services import cases, exits
from monitoring.services.breaches import breaches_record
from tests.households import factories as hf
from tests.monitoring.helpers import (
    at,
    complete,
    d,
    identified_case,
    open_case,
    run_procedure,
    step,
)


def _breaches():
    return sorted(
        (b.kind, b.step.code if b.step_id else "", b.due_date, b.escalated_to)
        for b in Breach.objects.select_related("step")
    )


def test_nothing_is_recorded_on_the_due_day(case):
    assert step(case, "home_verification").due_date == d(3, 4)
    assert breaches_record(now=at(d(3, 4), 23, 59)) == {"steps": 0, "cases": 0, "exits": 0}
    assert not Breach.objects.exists()


def test_a_village_step_escalates_to_the_township_once(case):
    assert breaches_record(now=at(d(3, 5), 0, 1)) == {"steps": 1, "cases": 0, "exits": 0}
    assert _breaches() == [("step", "home_verification", d(3, 4), "township")]
    assert breaches_record(now=at(d(3, 5), 8)) == {"steps": 0, "cases": 0, "exits": 0}
    assert breaches_record(now=at(d(3, 8))) == {"steps": 0, "cases": 0, "exits": 0}
    assert Breach.objects.count() == 1


def test_a_utc_now_that_is_already_tomorrow_in_shanghai(case):
    # 16:30 UTC on 4 March is 00:30 on 5 March in Shanghai
    assert breaches_record(now=dt.datetime(2026, 3, 4, 16, 30, tzinfo=dt.UTC))["steps"] == 1
    with pytest.raises(ValueError, match="naive"):
        breaches_record(now=dt.datetime(2026, 3, 10, 10, 0))  # noqa: DTZ001


def test_each_level_escalates_one_up_and_the_case_to_the_county(case, actors):
    complete(case, "home_verification", actors, at(d(3, 5)))  # a day late
    due = {s.code: (s.due_date, s.area_level) for s in case.steps.filter(status=StepStatus.AVAILABLE)}
    assert due == {
        "data_comparison": (d(3, 10), "county"),
        "village_review": (d(3, 7), "village"),
        "township_review": (d(3, 10), "township"),
    }
    result = breaches_record(now=at(d(3, 17)))
    # home verification was done late before the job ran: still a missed deadline
    assert result == {"steps": 4, "cases": 1, "exits": 0}
    assert _breaches() == [
        ("case", "", d(3, 16), "county"),
        ("step", "data_comparison", d(3, 10), "county"),
        ("step", "home_verification", d(3, 4), "township"),
        ("step", "township_review", d(3, 10), "county"),
        ("step", "village_review", d(3, 7), "township"),
    ]
    assert breaches_record(now=at(d(3, 17), 18)) == {"steps": 0, "cases": 0, "exits": 0}
    assert breaches_record(now=at(d(3, 20))) == {"steps": 0, "cases": 0, "exits": 0}
    # what is recorded is what the deadline function calls overdue
    found = case_deadlines(case, now=at(d(3, 17)))
    assert found["case"].is_overdue
    overdue_steps = {pk for pk, dl in found["steps"].items() if dl.is_overdue}
    assert overdue_steps == set(Breach.objects.filter(kind="step").values_list("step_id", flat=True)) - {
        step(case, "home_verification").pk
    }


def test_work_done_late_is_recorded_and_work_done_on_time_is_not(case, actors):
    complete(case, "home_verification", actors, at(d(3, 4), 23, 59))  # on the due day
    assert step(case, "village_review").due_date == d(3, 6)
    complete(case, "village_review", actors, at(d(3, 7), 0, 30))  # half an hour late
    assert breaches_record(now=at(d(3, 7), 1)) == {"steps": 1, "cases": 0, "exits": 0}
    assert _breaches() == [("step", "village_review", d(3, 6), "township")]


def test_a_case_identified_late_is_recorded(areas, actors):
    hh = hf.household(areas["v11"], actor=actors.cadre)
    case = open_case(hh, actors.cadre, d(3, 1))
    run_procedure(case, actors, d(3, 10), until="county_approval")
    complete(case, "county_approval", actors, at(d(3, 17)))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED and case.identified_on == d(3, 17)
    assert breaches_record(now=at(d(3, 18)))["cases"] == 1
    assert ("case", "", d(3, 16), "county") in _breaches()
    assert breaches_record(now=at(d(3, 19)))["cases"] == 0


def test_late_work_is_looked_for_over_the_last_month(case, actors):
    complete(case, "home_verification", actors, at(d(3, 5)))
    assert breaches_record(now=at(d(5, 1)))["steps"] >= 3  # the three steps still open
    assert not Breach.objects.filter(step=step(case, "home_verification")).exists()


def test_done_and_closed_work_is_not_recorded(case, actors):
    complete(case, "home_verification", actors, at(d(3, 2)))
    cases.step_reject(
        actor=actors.county_approver, step=step(case, "data_comparison"), reason="收入超标", now=at(d(3, 3))
    )
    assert breaches_record(now=at(d(4, 30))) == {"steps": 0, "cases": 0, "exits": 0}


def test_a_returned_step_gets_a_new_deadline_and_can_be_missed_again(case, actors):
    assert breaches_record(now=at(d(3, 5)))["steps"] == 1
    complete(case, "home_verification", actors, at(d(3, 5)))
    cases.step_return(
        actor=actors.township_reviewer, step=step(case, "township_review"), reason="补充材料", now=at(d(3, 6))
    )
    assert step(case, "home_verification").due_date == d(3, 9)
    result = breaches_record(now=at(d(3, 10)))
    assert result["steps"] == 1  # home verification again; the others still run
    assert sorted(
        Breach.objects.filter(step=step(case, "home_verification")).values_list("due_date", flat=True)
    ) == [d(3, 4), d(3, 9)]


def test_provisional_cases_keep_their_deadline(areas, actors):
    hh = hf.household(areas["v11"], actor=actors.cadre)
    case = open_case(hh, actors.cadre, d(3, 1), risk_type_codes=["05"])
    cases.case_green_channel(actor=actors.county_approver, case=case, reason="车祸", now=at(d(3, 1)))
    case.refresh_from_db()
    assert case.status == CaseStatus.PROVISIONAL
    assert breaches_record(now=at(d(3, 17)))["cases"] == 1


def test_a_late_exit_is_recorded(areas, actors):
    hh = hf.household(areas["v11"], members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, d(1, 5))
    exits.exit_propose(
        actor=actors.county_approver, case=case, mode="natural", override_reason="外迁", now=at(d(4, 1))
    )
    case.refresh_from_db()
    assert case.exit_due_date == d(4, 26)
    run_procedure(case, actors, d(4, 2), procedure_kind="exit", until="township_review")
    result = breaches_record(now=at(d(4, 27)))
    assert result["exits"] == 1
    assert ("exit", "", d(4, 26), "county") in _breaches()
    assert breaches_record(now=at(d(4, 28)))["exits"] == 0


def test_working_day_counties_are_late_the_day_after_the_due_date(areas, actors):
    default = CountySettings.objects.get(county__isnull=True)
    CountySettings.objects.create(
        county=areas["county"],
        use_working_days=True,
        identification_procedure=default.identification_procedure,
        exit_procedure=default.exit_procedure,
    )
    hh = hf.household(areas["v11"], actor=actors.cadre)
    case = open_case(hh, actors.cadre, d(3, 3))  # Tuesday
    hv = step(case, "home_verification")
    assert hv.due_date == d(3, 6)  # Friday
    saturday = at(d(3, 7))
    assert breaches_record(now=saturday)["steps"] == 1
    assert case_deadlines(case, now=saturday)["steps"][hv.pk].is_overdue
    assert (
        deadlines.deadline(hv.due_date, now=saturday, calendar=deadlines.WorkCalendar(True)).days_left == -1
    )
