"""Deadline functions at their boundaries: Shanghai days, working days, months."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.county import calendar_for
from monitoring.models import CountySettings, Holiday, StepStatus
from monitoring.rules import deadlines
from monitoring.rules.deadlines import State, WorkCalendar
from monitoring.selectors import case_deadlines
from tests.households import factories as hf
from tests.monitoring.helpers import (
    SH,
    UTC,
    Actors,
    at,
    complete,
    d,
    open_case,
    step,
)

FOUND = d(3, 1)
DUE = d(3, 16)


def test_a_clue_found_on_1_march_is_due_on_16_march():
    assert deadlines.add_days(FOUND, 15) == DUE


@pytest.mark.parametrize(
    ("now", "overdue"),
    [
        (dt.datetime(2026, 3, 16, 0, 0, tzinfo=SH), False),
        (dt.datetime(2026, 3, 16, 23, 59, 59, tzinfo=SH), False),
        (dt.datetime(2026, 3, 17, 0, 0, tzinfo=SH), True),
        # 16:00 UTC on the 16th is already 00:00 on the 17th in Shanghai
        (dt.datetime(2026, 3, 16, 15, 59, tzinfo=UTC), False),
        (dt.datetime(2026, 3, 16, 16, 0, tzinfo=UTC), True),
        # 23:30 on the 16th in New York is 11:30 on the 17th in Shanghai
        (dt.datetime(2026, 3, 16, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4))), True),
    ],
    ids=["sh-00:00-16th", "sh-23:59-16th", "sh-00:00-17th", "utc-15:59", "utc-16:00", "utc-4"],
)
def test_overdue_turns_at_shanghai_midnight(now, overdue):
    assert deadlines.is_overdue(DUE, now=now) is overdue
    state = deadlines.deadline(DUE, now=now)
    assert state.is_overdue is overdue
    assert state.days_left == (-1 if overdue else 0)
    assert state.state is (State.OVERDUE if overdue else State.DUE_SOON)


def test_local_date_reads_the_shanghai_day():
    assert deadlines.local_date(dt.datetime(2026, 3, 16, 16, 0, tzinfo=UTC)) == d(3, 17)
    assert deadlines.local_date(dt.datetime(2026, 3, 16, 15, 59, tzinfo=UTC)) == d(3, 16)


def test_naive_datetimes_are_refused():
    naive = dt.datetime(2026, 3, 16, 10, 0)
    with pytest.raises(ValueError, match="naive"):
        deadlines.local_date(naive)
    with pytest.raises(ValueError, match="naive"):
        deadlines.deadline(DUE, now=naive)
    with pytest.raises(ValueError, match="naive"):
        deadlines.is_overdue(DUE, now=naive)


def test_states_none_done_on_time_due_soon():
    now = at(d(3, 1))
    assert deadlines.deadline(None, now=now).state is State.NONE
    assert deadlines.deadline(d(3, 1), now=at(d(3, 9)), done=True).state is State.DONE
    assert deadlines.deadline(DUE, now=now).state is State.ON_TIME  # 15 days left
    assert deadlines.deadline(DUE, now=at(d(3, 11))).state is State.DUE_SOON  # 5 left
    assert deadlines.deadline(DUE, now=at(d(3, 10))).state is State.ON_TIME  # 6 left
    assert deadlines.deadline(DUE, now=at(d(3, 11)), due_soon_days=3).state is State.ON_TIME


# --- working days -------------------------------------------------------------------------

# 2026: Friday 1 May – Tuesday 5 May is the Labour Day holiday; Saturday 9 May is worked.
LABOUR_DAY = WorkCalendar(
    working_days=True,
    holidays=frozenset(d(5, n) for n in range(1, 6)),
    swapped_workdays=frozenset({d(5, 9)}),
)


def test_working_days_skip_weekends():
    friday = d(3, 6)
    assert friday.weekday() == 4
    cal = WorkCalendar(working_days=True)
    assert deadlines.add_days(friday, 1, cal) == d(3, 9)  # Monday
    assert deadlines.add_days(friday, 5, cal) == d(3, 13)
    assert deadlines.add_days(friday, 15, cal) == d(3, 27)
    assert deadlines.days_between(friday, d(3, 9), cal) == 1
    assert deadlines.days_between(d(3, 9), friday, cal) == -1
    assert deadlines.add_days(friday, 0, cal) == friday


def test_working_days_skip_holidays_and_count_swapped_days():
    thursday = d(4, 30)
    # 1–5 May off; 6, 7, 8 May worked, 9 May (Saturday) worked, then Monday 11 May
    assert deadlines.add_days(thursday, 1, LABOUR_DAY) == d(5, 6)
    assert deadlines.add_days(thursday, 4, LABOUR_DAY) == d(5, 9)
    assert deadlines.add_days(thursday, 5, LABOUR_DAY) == d(5, 11)
    assert deadlines.days_between(thursday, d(5, 11), LABOUR_DAY) == 5
    assert LABOUR_DAY.is_working_day(d(5, 9)) and not LABOUR_DAY.is_working_day(d(5, 4))


def test_overdue_does_not_wait_for_the_next_working_day():
    """Due on a Friday and not done: overdue on Saturday, whatever the calendar."""
    cal = WorkCalendar(working_days=True)
    friday = d(3, 6)
    saturday = deadlines.deadline(friday, now=at(d(3, 7)), calendar=cal)
    assert saturday.is_overdue and saturday.days_left == -1
    monday = deadlines.deadline(friday, now=at(d(3, 9)), calendar=cal)
    assert monday.is_overdue and monday.days_left == -1
    tuesday = deadlines.deadline(friday, now=at(d(3, 10)), calendar=cal)
    assert tuesday.days_left == -2
    on_the_day = deadlines.deadline(friday, now=at(friday, 23, 59), calendar=cal)
    assert not on_the_day.is_overdue and on_the_day.days_left == 0
    # days left before the deadline are counted in working days
    assert deadlines.deadline(friday, now=at(d(3, 2)), calendar=cal).days_left == 4


def test_calendar_for_reads_holiday_rows(db):
    Holiday.objects.create(date=d(5, 1), name="劳动节")
    Holiday.objects.create(date=d(5, 4), name="劳动节")
    Holiday.objects.create(date=d(5, 9), name="劳动节调休", is_working_day=True)
    row = CountySettings.objects.get(county__isnull=True)
    assert calendar_for("130727100201") is deadlines.CALENDAR_DAYS  # calendar days by default
    row.use_working_days = True
    row.save()
    cal = calendar_for("130727100201")
    assert cal.working_days
    assert cal.holidays == {d(5, 1), d(5, 4)}
    assert cal.swapped_workdays == {d(5, 9)}


def test_a_working_day_county_computes_case_and_step_due_dates(
    areas, cadre, township_reviewer, county_approver
):
    for n in range(1, 6):
        Holiday.objects.create(date=d(5, n), name="劳动节")
    Holiday.objects.create(date=d(5, 9), name="劳动节调休", is_working_day=True)
    default = CountySettings.objects.get(county__isnull=True)
    CountySettings.objects.create(
        county=areas["county"],
        use_working_days=True,
        identification_procedure=default.identification_procedure,
        exit_procedure=default.exit_procedure,
    )
    hh = hf.household(areas["v11"], actor=cadre)
    case = open_case(hh, cadre, d(4, 30), now=at(d(4, 30)))
    # 15 working days from Thursday 30 April: 6,7,8,9,11..15,18..22,25
    assert case.due_date == d(5, 25)
    hv = step(case, "home_verification")
    assert hv.due_date == d(5, 8)  # 3 working days: 6, 7, 8 May
    actors = Actors(cadre, township_reviewer, county_approver)
    complete(case, "home_verification", actors, at(d(5, 7)))
    hv.refresh_from_db()
    assert hv.status == StepStatus.DONE and hv.duration_days == 2  # 6 and 7 May
    # the selector uses the same calendar: Saturday 9 May is a working day
    found = case_deadlines(case, now=at(d(5, 9)))
    assert found["case"].days_left == 11


# --- months -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (d(1, 1), d(7, 1), 6),
        (d(1, 1), d(6, 30), 5),
        (d(1, 31), d(7, 31), 6),
        (d(1, 31), d(7, 30), 5),
        (d(1, 31), d(2, 28), 1),  # the last day of February is a month after 31 January
        (d(1, 31), d(2, 27), 0),
        (d(1, 30, 2024), d(2, 29, 2024), 1),
        (d(1, 30, 2024), d(2, 28, 2024), 0),
        (d(8, 31, 2025), d(2, 28), 6),
        (d(8, 31, 2025), d(2, 27), 5),
        (d(12, 15, 2025), d(1, 15), 1),
        (d(3, 1), d(3, 1), 0),
    ],
)
def test_months_between(start, end, months):
    assert deadlines.months_between(start, end) == months


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (d(8, 31, 2025), 6, d(2, 28)),
        (d(8, 31, 2023), 6, d(2, 29, 2024)),
        (d(1, 31), 1, d(2, 28)),
        (d(3, 31), 1, d(4, 30)),
        (d(12, 31, 2025), 2, d(2, 28)),
        (d(11, 15, 2025), 3, d(2, 15)),
        (d(1, 15), 12, d(1, 15, 2027)),
        (d(3, 31), -1, d(2, 28)),
    ],
)
def test_add_months(start, months, end):
    assert deadlines.add_months(start, months) == end


@pytest.mark.parametrize(
    "start", [d(1, 31), d(8, 31, 2025), d(1, 29), d(1, 30, 2024), d(2, 28), d(12, 31, 2025), d(6, 15)]
)
@pytest.mark.parametrize("months", [1, 5, 6, 12])
def test_add_months_and_months_between_agree(start, months):
    """``add_months`` gives the first day that is ``months`` whole months later."""
    later = deadlines.add_months(start, months)
    assert deadlines.months_between(start, later) == months
    assert deadlines.months_between(start, later - dt.timedelta(days=1)) == months - 1
