"""Celery tasks of the reports: thin wrappers around ``reports/services/exports.py``."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

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
