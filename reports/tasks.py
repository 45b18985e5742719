"""Celery tasks of the reports: thin wrappers around ``reports/services/exports.py`` (writing an
export; removing the expired ones daily, under a run record like the workflow's tasks)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from monitoring.models import TaskName
from monitoring.services import runs
from reports.services import exports

RETRY = {
    "bind": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 10,
    "max_retries": 3,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


@shared_task(name="reports.write_export", **RETRY)
def write_export(self, job_id: int) -> dict:
    job = exports.run_export(job_id, now=timezone.now())
    return {"job": job_id, "state": job.state if job else None}


@shared_task(**RETRY)
def export_cleanup(self, area_code: str = "", user_id: int | None = None) -> dict:
    """Delete the expired export files and mark their jobs expired (every export, whatever the
    area: a file's owner is a person, not an area)."""
    run = runs.task_run(
        TaskName.EXPORT_CLEANUP,
        lambda *, now, area_code: exports.remove_expired(now=now),
        area_code=area_code or "",
        celery_id=self.request.id or "",
    )
    return {"run": run.pk, "status": run.status, **run.counts}
