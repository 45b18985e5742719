"""Case fixtures for the assistance, visit and eligibility tests.

Cases are created directly (with their status already ``monitored`` etc.): the
identification services are the subject of other tests.
"""

from __future__ import annotations

import datetime as dt

from accounts.models import Department, Role
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
from tests.accounts import factories as af


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """An aware Shanghai datetime on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


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
    return af.user(Role.DEPARTMENT, county, department=department(code), **extra)


def measure(code: str) -> Measure:
    return Measure.objects.select_related("category", "department").get(code=code)
