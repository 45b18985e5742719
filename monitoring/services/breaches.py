"""Breach records: a missed deadline is recorded once, with the level it is escalated to.

Set-based: one query per kind finds the missed deadlines that have no breach yet, one bulk
insert records them (the unique constraints make a second run a no-op).

Missed means: still open after the due date (Asia/Shanghai day of ``now``), or finished after
it. Work finished late is looked for over the last :data:`LATE_LOOKBACK_DAYS` days, so a
deadline missed and caught up before the job ran is still on record.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import AreaLevel
from monitoring.models import Breach, CaseStatus, CaseStep, MonitoringCase, StepStatus
from monitoring.rules import deadlines
from monitoring.services.cases import ESCALATION

LATE_LOOKBACK_DAYS = 31
CHUNK = 2000


def _day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=deadlines.SHANGHAI)


def breaches_record(*, now: dt.datetime | None = None, area_prefix: str = "") -> dict[str, int]:
    """Record every step, case and exit deadline missed as of ``now`` (in the area whose code
    starts with ``area_prefix``: everywhere by default); returns how many were new."""
    now = now or timezone.now()
    today = deadlines.local_date(now)
    since = now - dt.timedelta(days=LATE_LOOKBACK_DAYS)

    step_has = Breach.objects.filter(step=OuterRef("pk"), due_date=OuterRef("due_date"))
    steps = (
        CaseStep.objects.filter(
            Q(status=StepStatus.AVAILABLE, due_date__lt=today)
            | Q(
                status__in=[StepStatus.DONE, StepStatus.REJECTED],
                due_date__isnull=False,
                completed_at__gte=since,
                due_date__lt=_day("completed_at"),
            )
        )
        .filter(~Exists(step_has), case__area_code__startswith=area_prefix)
        .values_list("pk", "case_id", "due_date", "area_level")
    )
    new_steps = [
        Breach(case_id=case_id, step_id=pk, kind="step", due_date=due, escalated_to=ESCALATION[level])
        for pk, case_id, due, level in steps.iterator(chunk_size=CHUNK)
    ]
    Breach.objects.bulk_create(new_steps, batch_size=CHUNK, ignore_conflicts=True)

    case_has = Breach.objects.filter(
        case=OuterRef("pk"), step__isnull=True, kind="case", due_date=OuterRef("due_date")
    )
    cases = (
        MonitoringCase.objects.filter(
            Q(status__in=[CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL], due_date__lt=today)
            | Q(identified_at__gte=since, identified_on__gt=F("due_date"))
            | Q(rejected_at__gte=since, due_date__lt=_day("rejected_at"))
        )
        .filter(~Exists(case_has), area_code__startswith=area_prefix)
        .values_list("pk", "due_date")
    )
    new_cases = [
        Breach(case_id=pk, kind="case", due_date=due, escalated_to=AreaLevel.COUNTY)
        for pk, due in cases.iterator(chunk_size=CHUNK)
    ]
    Breach.objects.bulk_create(new_cases, batch_size=CHUNK, ignore_conflicts=True)

    exit_has = Breach.objects.filter(
        case=OuterRef("pk"), step__isnull=True, kind="exit", due_date=OuterRef("exit_due_date")
    )
    exits = (
        MonitoringCase.objects.filter(
            Q(status=CaseStatus.EXIT_IN_PROGRESS, exit_due_date__lt=today)
            | Q(
                status=CaseStatus.ELIMINATED,
                eliminated_on__gte=since.astimezone(deadlines.SHANGHAI).date(),
                eliminated_on__gt=F("exit_due_date"),
            )
        )
        .filter(exit_due_date__isnull=False)
        .filter(~Exists(exit_has), area_code__startswith=area_prefix)
        .values_list("pk", "exit_due_date")
    )
    new_exits = [
        Breach(case_id=pk, kind="exit", due_date=due, escalated_to=AreaLevel.COUNTY)
        for pk, due in exits.iterator(chunk_size=CHUNK)
    ]
    Breach.objects.bulk_create(new_exits, batch_size=CHUNK, ignore_conflicts=True)
    return {"steps": len(new_steps), "cases": len(new_cases), "exits": len(new_exits)}
