"""Case fixtures for the assistance, visit and eligibility tests.

Cases are created directly (with their status already ``monitored`` etc.): the
identification services are the subject of other tests.
"""

from __future__ import annotations

import datetime as dt

from accounts.models import Department, Role
from households import services as household_services
from households.models import Household
from monitoring.models import (
    CaseStatus,
    Measure,
    MonitoringCase,
    ProcedureDefinition,
    ProcedureKind,
    RiskType,
)
from monitoring.rules.deadlines import SHANGHAI
from tests import factories


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """An aware Shanghai datetime on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def registered_on(household: Household, day: dt.date) -> Household:
    """Pretend the household was registered on ``day`` (``created_at`` is set automatically)."""
    Household.objects.filter(pk=household.pk).update(created_at=at(day, 8))
    household.refresh_from_db()
    return household


def household(village, *, labour: list[str] | tuple[str, ...] = ("normal",), registered=None, **fields):
    """A household with one member per entry of ``labour`` (their labour capacity)."""
    hh = factories.household(village, members=len(labour), **fields)
    for person, capacity in zip(hh.members.order_by("id"), labour, strict=True):
        if person.labour_capacity != capacity:
            household_services.person_update(actor=None, person=person, labour_capacity=capacity)
    if registered is not None:
        registered_on(hh, registered)
    return hh


def case(
    hh: Household,
    *,
    status: str = CaseStatus.MONITORED,
    risks: list[str] | tuple[str, ...] = ("01",),
    identified_on: dt.date | None = dt.date(2026, 1, 10),
    found_date: dt.date | None = None,
    provisional_on: dt.date | None = None,
    **fields,
) -> MonitoringCase:
    found = found_date or (identified_on - dt.timedelta(days=14) if identified_on else dt.date(2026, 1, 1))
    procedure = ProcedureDefinition.objects.filter(kind=ProcedureKind.IDENTIFICATION).first()
    if status in (CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL):
        identified_on = None
    c = MonitoringCase.objects.create(
        household=hh,
        area_code=hh.area_code,
        status=status,
        procedure=procedure,
        found_date=found,
        opened_at=at(found),
        due_date=found + dt.timedelta(days=15),
        identified_on=identified_on,
        identified_at=at(identified_on) if identified_on else None,
        provisional_on=provisional_on,
        green_channel=provisional_on is not None,
        category=fields.pop("category", "marginal"),
        **fields,
    )
    c.risk_types.set(RiskType.objects.filter(code__in=risks))
    return c


def department(code: str) -> Department:
    return Department.objects.get(code=code)


def department_user(code: str, county, **extra):
    return factories.user(Role.DEPARTMENT, county, department=department(code), **extra)


def measure(code: str) -> Measure:
    return Measure.objects.select_related("category", "department").get(code=code)
