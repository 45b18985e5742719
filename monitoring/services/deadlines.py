"""Breach records: a missed deadline is recorded once, with the level it is escalated to.

Set-based: one query finds the overdue open steps and cases that have no breach yet, one
bulk insert records them (the unique constraints make a second run a no-op).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import AreaLevel
from monitoring import deadlines
from monitoring.models import Breach, CaseStatus, CaseStep, MonitoringCase, StepStatus
from monitoring.services.cases import ESCALATION


def breaches_record(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Record every step and case deadline missed as of ``now``; returns how many were new."""
    now = now or timezone.now()
    today = deadlines.local_date(now)
    step_has = Breach.objects.filter(step=OuterRef("pk"), due_date=OuterRef("due_date"))
    steps = (
        CaseStep.objects.filter(status=StepStatus.AVAILABLE, due_date__lt=today)
        .annotate(done=Exists(step_has))
        .filter(done=False)
        .values_list("pk", "case_id", "due_date", "area_level")
    )
    new_steps = [
        Breach(case_id=case_id, step_id=pk, kind="step", due_date=due, escalated_to=ESCALATION[level])
        for pk, case_id, due, level in steps.iterator(chunk_size=2000)
    ]
    Breach.objects.bulk_create(new_steps, batch_size=2000, ignore_conflicts=True)

    case_has = Breach.objects.filter(
        case=OuterRef("pk"), step__isnull=True, kind="case", due_date=OuterRef("due_date")
    )
    cases = (
        MonitoringCase.objects.filter(
            status__in=[CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL], due_date__lt=today
        )
        .annotate(done=Exists(case_has))
        .filter(done=False)
        .values_list("pk", "due_date")
    )
    new_cases = [
        Breach(case_id=pk, kind="case", due_date=due, escalated_to=AreaLevel.COUNTY)
        for pk, due in cases.iterator(chunk_size=2000)
    ]
    Breach.objects.bulk_create(new_cases, batch_size=2000, ignore_conflicts=True)
    return {"steps": len(new_steps), "cases": len(new_cases)}
