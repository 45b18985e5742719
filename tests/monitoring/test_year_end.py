"""Year-end assessment: every monitored household's exit checklist, kept once per year."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Notification, NotificationKind, Role
from households import services as household_services
from monitoring.models import AssistanceMeasure, CaseStatus, ExitAssessment, Measure, MeasureStatus
from monitoring.rules.eligibility import eligibility_for_case
from monitoring.services.year_end import year_end_assessment
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import (
    Actors,
    at,
    d,
    identified_case,
    set_household,
)

DECEMBER = at(d(12, 1), 2)


def _recovered(village, actors, found=None):
    """Identified in January, income well above the line since, a development measure
    implemented, a monitoring contact: meets every exit criterion by December."""
    hh = hf.household(village, members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, found or d(1, 5))
    household_services.income_record_set(actor=actors.cadre, household=hh, year=2025, wages="19000")
    household_services.income_record_set(actor=actors.cadre, household=hh, year=2026, wages="22000")
    AssistanceMeasure.objects.create(
        case=case,
        measure=Measure.objects.get(code="M0101"),
        responsible_person="王帮扶",
        status=MeasureStatus.IMPLEMENTED,
        actual_date=d(2, 1),
    )
    set_household(hh, actors.cadre, monitoring_contact="张三", monitoring_contact_phone="13800000001")
    return hh, case


def _struggling(village, actors, found=None):
    """Identified in March with nothing recorded since: fails several criteria."""
    hh = hf.household(village, members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, found or d(3, 1))
    return hh, case


def test_eligible_and_not_eligible_households_are_listed_with_their_failing_criteria(areas, actors):
    _hh1, ok_case = _recovered(areas["v11"], actors)
    _hh2, bad_case = _struggling(areas["v11"], actors, found=d(6, 1))
    counts = year_end_assessment(now=DECEMBER)
    assert counts == {"assessed": 2, "eligible": 1, "not_eligible": 1}
    ok = ExitAssessment.objects.get(case=ok_case)
    bad = ExitAssessment.objects.get(case=bad_case)
    assert (ok.source, ok.mode, ok.assessed_on, ok.eligible) == ("year_end", "assistance", d(12, 1), True)
    assert bad.eligible is False
    failing = {c["code"] for c in bad.checks if not c["ok"]}
    assert failing and "monitoring_contact" in failing
    # the same checklist the case page shows
    expected = eligibility_for_case(bad_case, today=d(12, 1))
    assert [{k: v for k, v in c.items() if k != "i18n"} for c in bad.checks] == expected.as_list()
    # and in English for an English reader
    with translation.override("en"):
        assert [{k: v for k, v in c.items() if k != "i18n"} | c["i18n"]["en"] for c in bad.checks] == (
            eligibility_for_case(bad_case, today=d(12, 1)).as_list()
        )
    # nothing about the cases changed: the county acts on the list
    ok_case.refresh_from_db()
    assert ok_case.status == CaseStatus.MONITORED


def test_a_second_run_in_the_same_year_adds_nothing_and_a_new_year_assesses_again(areas, actors):
    _recovered(areas["v11"], actors)
    assert year_end_assessment(now=DECEMBER)["assessed"] == 1
    assert year_end_assessment(now=DECEMBER + dt.timedelta(days=3))["assessed"] == 0
    assert ExitAssessment.objects.filter(source="year_end").count() == 1
    assert year_end_assessment(now=at(dt.date(2027, 12, 1), 2))["assessed"] == 1
    assert ExitAssessment.objects.filter(source="year_end").count() == 2


def test_only_monitored_cases_are_assessed_and_the_area_limits_the_run(areas, actors):
    _recovered(areas["v11"], actors)
    others = Actors(
        af.user(Role.VILLAGE_CADRE, areas["v21"]),
        af.user(Role.TOWNSHIP_REVIEWER, areas["t2"]),
        actors.county_approver,
    )
    _recovered(areas["v21"], others)
    hf.household(areas["v11"], members=1, actor=actors.cadre)  # not monitored at all
    assert year_end_assessment(now=DECEMBER, area_code=areas["t1"].code)["assessed"] == 1
    assert year_end_assessment(now=DECEMBER)["assessed"] == 1  # the other township's case


def test_county_approvers_are_told_once(areas, actors):
    _recovered(areas["v11"], actors)
    year_end_assessment(now=DECEMBER)
    year_end_assessment(now=DECEMBER)
    told = Notification.objects.filter(kind=NotificationKind.YEAR_END)
    assert [n.recipient for n in told] == [actors.county_approver]
    assert "1户符合" in told[0].title and told[0].url.startswith("/year-end/")


def test_the_query_count_does_not_grow_with_the_number_of_cases(areas, actors):
    def run_with(n, now):
        for _ in range(n):
            _recovered(areas["v11"], actors)
        with CaptureQueriesContext(connection) as ctx:
            assessed = year_end_assessment(now=now)["assessed"]
        return assessed, len(ctx.captured_queries)

    assessed, few = run_with(2, DECEMBER)
    assert assessed == 2
    assessed, many = run_with(8, at(dt.date(2027, 12, 1), 2))
    assert assessed == 10  # the new year assesses all ten, in the same fixed number of queries
    assert many <= few + 2, (few, many)
