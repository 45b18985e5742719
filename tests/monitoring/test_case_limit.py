"""The identification limit follows the procedure the county chose (its planned critical path or
its own stated limit); the county's limit is a cap only where the county says so."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.models import (
    Breach,
    CaseStatus,
    CountySettings,
    LimitBasis,
    PublicNotice,
    StepKind,
    StepStatus,
)
from monitoring.rules import deadlines
from monitoring.rules.deadlines import case_limit
from monitoring.services import cases
from monitoring.services.breaches import breaches_record
from tests.households import factories as hf
from tests.monitoring.helpers import (
    OVERLAPPED_NAME,
    SERIAL_NAME,
    Actors,
    at,
    d,
    open_case,
    procedure,
    step_data,
    use_procedure,
)


@pytest.fixture
def actors(cadre, township_reviewer, county_approver):
    return Actors(cadre, township_reviewer, county_approver)


@pytest.fixture
def hh(areas, cadre):
    return hf.household(areas["v11"], members=2, actor=cadre)


# --- the pure rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("planned", "stated", "county", "caps", "expected"),
    [
        (15, None, 15, False, (15, "planned")),
        (30, None, 15, False, (30, "planned")),  # serial: the county's 15 is not a cap
        (30, None, 15, True, (15, "county")),  # unless the county says so
        (12, None, 15, True, (12, "planned")),  # a cap never lengthens
        (30, 20, 15, False, (20, "stated")),  # the procedure's own limit wins over its path
        (30, 20, 25, True, (20, "stated")),
        (30, 20, 10, True, (10, "county")),
        (0, None, 15, False, (15, "county")),  # a procedure with nothing planned
    ],
)
def test_case_limit(planned, stated, county, caps, expected):
    assert (
        case_limit(planned_days=planned, stated_days=stated, county_days=county, county_caps=caps) == expected
    )


# --- through the services --------------------------------------------------------------------


def test_the_overlapped_case_is_due_on_day_15(hh, actors):
    case = open_case(hh, actors.cadre, d(3, 1))
    assert case.procedure.name == OVERLAPPED_NAME
    assert (case.limit_days, case.limit_basis) == (15, LimitBasis.PLANNED)
    assert case.due_date == d(3, 1) + dt.timedelta(days=15)


def _complete_each_step_on_its_due_date(case, actors) -> dt.date:
    """Run the case with every step done on the last day it may be done; returns the day the
    county approved it. Checks on each of those days that the case is not overdue."""
    for _round in range(20):
        available = list(case.steps.filter(status=StepStatus.AVAILABLE).order_by("sort_order", "id"))
        if not available:
            break
        s = available[0]
        day = s.due_date
        if s.kind == StepKind.VILLAGE_NOTICE:
            opened = deadlines.local_date(s.available_at)
            notice = PublicNotice.objects.filter(step=s).first() or cases.notice_post(
                actor=actors.for_step(s), step=s, now=at(opened)
            )
            day = max(day, notice.end_date + dt.timedelta(days=1))
        case.refresh_from_db()
        assert deadlines.deadline(case.due_date, now=at(day, 23, 59)).state != deadlines.State.OVERDUE, s.code
        cases.step_complete(actor=actors.for_step(s), step=s, data=step_data(s, day), now=at(day))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    return case.identified_on


def test_a_serial_case_done_step_by_step_on_time_is_never_overdue(hh, actors):
    use_procedure(SERIAL_NAME)
    case = open_case(hh, actors.cadre, d(3, 1))
    assert (case.limit_days, case.limit_basis) == (30, LimitBasis.PLANNED)
    assert case.due_date == d(3, 31)
    identified = _complete_each_step_on_its_due_date(case, actors)
    assert d(3, 16) < identified <= case.due_date  # past the old 15 days, inside the procedure's 30
    # the deadline watch finds nothing missed, on the day of approval nor after
    for day in (identified, identified + dt.timedelta(days=30)):
        breaches_record(now=at(day, 23))
    assert not Breach.objects.filter(case=case).exists()


def test_a_county_cap_shortens_the_serial_procedure(hh, actors, areas):
    settings = use_procedure(SERIAL_NAME, county=areas["county"])
    CountySettings.objects.filter(pk=settings.pk).update(case_deadline_days=20, case_deadline_caps=True)
    case = open_case(hh, actors.cadre, d(3, 1))
    assert (case.limit_days, case.limit_basis, case.due_date) == (20, LimitBasis.COUNTY, d(3, 21))


def test_a_procedure_s_own_stated_limit(hh, actors):
    use_procedure(SERIAL_NAME)
    type(procedure(SERIAL_NAME)).objects.filter(pk=procedure(SERIAL_NAME).pk).update(time_limit_days=25)
    case = open_case(hh, actors.cadre, d(3, 1))
    assert (case.limit_days, case.limit_basis, case.due_date) == (25, LimitBasis.STATED, d(3, 26))


def test_the_case_page_and_api_say_which_limit_applies(hh, actors, client):
    use_procedure(SERIAL_NAME)
    case = open_case(hh, actors.cadre, d(3, 1))
    client.force_login(actors.cadre)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "识别时限30天，按程序各步骤计划工期（串联识别程序（30天））" in page
    body = client.get(f"/api/v1/cases/{case.pk}/").json()
    assert (body["limit_days"], body["limit_basis"], body["limit_basis_label"]) == (
        30,
        "planned",
        "按程序各步骤计划工期",
    )
