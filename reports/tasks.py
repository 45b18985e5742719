"""Celery tasks of the reports: thin wrappers that run a service under a run record (as
``monitoring.tasks``)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError

from monitoring.models import RunStatus, TaskName, TaskRun
from monitoring.services import runs
from reports import snapshots


@shared_task(
    bind=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def dashboard_figures(self, area_code: str = "", user_id: int | None = None) -> dict:
    """Precompute the dashboard's figures of the counties and townships under ``area_code``."""
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    celery_id = self.request.id or ""
    done = (
        TaskRun.objects.filter(celery_id=celery_id, status=RunStatus.SUCCEEDED).first() if celery_id else None
    )
    if done is not None:
        return {"run": done.pk, "status": done.status, **done.counts}
    run = runs.task_run(
        TaskName.DASHBOARD_FIGURES,
        lambda *, now, area_code: snapshots.dashboard_figures(now=now, area_code=area_code),
        area_code=area_code or "",
        actor=actor,
        celery_id=celery_id,
    )
    return {"run": run.pk, "status": run.status, **run.counts}
