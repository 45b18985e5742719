"""The registry's background work: an uploaded import (``imports.jobs.run``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="households.run_import", acks_late=True)
def run_import(job_id: int) -> str:
    from .imports import jobs

    return jobs.run(job_id).state
