"""Deadlines: pure functions over explicit dates and an explicit ``now``.

Every screen, API, export and task asks these functions whether something is due soon or
overdue; "overdue" is never stored. Days are Asia/Shanghai calendar days; a county may count
working days instead (weekends and public holidays skipped, swapped working days counted).

A limit of N days from a start date D ends on D + N: a clue found on 1 March with the
15-day limit is due on 16 March, and overdue from 17 March (Shanghai time).
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import enum
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class WorkCalendar:
    """What counts as a day for a county's limits."""

    working_days: bool = False
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    swapped_workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.swapped_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


CALENDAR_DAYS = WorkCalendar()


def local_date(now: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar date of an aware datetime."""
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("naive datetime: pass an aware 'now'")
    return now.astimezone(SHANGHAI).date()


def add_days(start: dt.date, days: int, calendar: WorkCalendar = CALENDAR_DAYS) -> dt.date:
    """``start`` plus ``days`` calendar days, or plus that many working days."""
    if not calendar.working_days:
        return start + dt.timedelta(days=days)
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            left -= 1
    return day


def days_between(start: dt.date, end: dt.date, calendar: WorkCalendar = CALENDAR_DAYS) -> int:
    """How many (working) days from ``start`` to ``end``; negative when ``end`` is earlier."""
    if not calendar.working_days:
        return (end - start).days
    sign, (a, b) = (1, (start, end)) if end >= start else (-1, (end, start))
    count, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return sign * count


class State(enum.StrEnum):
    NONE = "none"  # no deadline
    DONE = "done"
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Deadline:
    state: State
    due: dt.date | None
    days_left: int | None  # negative = days overdue

    @property
    def is_overdue(self) -> bool:
        return self.state is State.OVERDUE

    @property
    def days_late(self) -> int:
        """Days past the due date (0 when not late)."""
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


def deadline(
    due: dt.date | None,
    *,
    now: dt.datetime,
    done: bool = False,
    due_soon_days: int = 5,
    calendar: WorkCalendar = CALENDAR_DAYS,
) -> Deadline:
    """The one function that says whether a deadline is met, near or missed at ``now``."""
    if due is None:
        return Deadline(State.NONE, None, None)
    today = local_date(now)
    left = days_between(today, due, calendar)
    if done:
        return Deadline(State.DONE, due, left)
    if today > due:
        # Overdue from the first day after the due date, even when that day is not a working
        # day (a step due on Friday is late on Saturday); at least one day late.
        return Deadline(State.OVERDUE, due, min(left, -1))
    if left <= due_soon_days:
        return Deadline(State.DUE_SOON, due, left)
    return Deadline(State.ON_TIME, due, left)


def step_due_soon_days(case_due_soon_days: int) -> int:
    """A step's own limit is a few days, so it is "due soon" only on its last day (or the day
    before), not for the county's whole warning period: a 3-day step would be "due soon" from
    the moment it opens."""
    return min(case_due_soon_days, 1)


def is_overdue(due: dt.date | None, *, now: dt.datetime, done: bool = False) -> bool:
    return deadline(due, now=now, done=done).is_overdue


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (1 Jan → 1 Jul = 6; → 30 Jun = 5).

    The inverse of :func:`add_months`: a month ends on the same day of a later month, or on
    that month's last day when it is shorter (31 Aug → 28 Feb = 6, as 31 Aug + 6 = 28 Feb).
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day and end.day != _cal.monthrange(end.year, end.month)[1]:
        months -= 1
    return months


def add_months(start: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month's end (31 Aug + 6 = 28/29 Feb)."""
    total = start.month - 1 + months
    year, month = start.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(start.day, _cal.monthrange(year, month)[1]))


#: Where a case's identification limit comes from (``monitoring.models.LimitBasis`` values).
PLANNED, STATED, COUNTY = "planned", "stated", "county"


def case_limit(
    *, planned_days: int, stated_days: int | None, county_days: int, county_caps: bool
) -> tuple[int, str]:
    """The identification time limit of a case, in days, and its basis.

    The procedure the county chose decides: its own stated limit if it has one, else its
    planned duration (the critical path through its steps' limits and waits). The county's
    limit applies instead only where the county makes it a cap (``county_caps``) and it is
    shorter; a procedure with no steps planned falls back to the county's limit.
    """
    days, basis = (stated_days, STATED) if stated_days else (planned_days, PLANNED)
    if not days:
        return county_days, COUNTY
    if county_caps and county_days < days:
        return county_days, COUNTY
    return days, basis
