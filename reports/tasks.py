"""Celery tasks of the reports: thin wrappers around the reports' services. The periodic ones
(the export cleanup, the dashboard's figures) run under a run record, as ``monitoring.tasks``
does; the monitoring app finds them by name (``monitoring.services.runs.celery_task``)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from monitoring.models import RunStatus, TaskName, TaskRun
from monitoring.services import runs
from reports import snapshots
from reports.services import exports

RETRY = {
    "bind": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 10,
    "retry_backoff_max": 600,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def _periodic(task, name: str, service, area_code: str, user_id: int | None) -> dict:
    """Run ``service(now=, area_code=)`` under a run record; a message delivered again after
    its run finished answers that run's result instead of running twice."""
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    celery_id = task.request.id or ""
    done = (
        TaskRun.objects.filter(celery_id=celery_id, status=RunStatus.SUCCEEDED).first() if celery_id else None
    )
    if done is not None:
        return {"run": done.pk, "status": done.status, **done.counts}
    run = runs.task_run(name, service, area_code=area_code or "", actor=actor, celery_id=celery_id)
    return {"run": run.pk, "status": run.status, **run.counts}


@shared_task(name="reports.write_export", **RETRY)
def write_export(self, job_id: int) -> dict:
    job = exports.run_export(job_id, now=timezone.now())
    return {"job": job_id, "state": job.state if job else None}


@shared_task(**RETRY)
def export_cleanup(self, area_code: str = "", user_id: int | None = None) -> dict:
    """Delete the expired export files and mark their jobs expired (every export, whatever the
    area: a file's owner is a person, not an area)."""
    return _periodic(self, TaskName.EXPORT_CLEANUP, exports.export_cleanup, area_code, user_id)


@shared_task(**RETRY)
def dashboard_figures(self, area_code: str = "", user_id: int | None = None) -> dict:
    """Precompute the dashboard's figures of the counties and townships under ``area_code``."""
    return _periodic(self, TaskName.DASHBOARD_FIGURES, snapshots.dashboard_figures, area_code, user_id)
