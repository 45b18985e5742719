"""Celery tasks of the workflow: thin wrappers that run a service under a run record.

Every task takes an optional ``area_code`` (a county, township or village code; empty = the
whole deployment) and ``user_id`` (who asked for an on-demand run). A database hiccup retries
the task with backoff; the services are idempotent, so a retry finishes what the failed run
began and repeats nothing.

A worker killed mid-run (out of memory, a deploy, a lost node) leaves its run record running
with a heartbeat that stops: the next run of the task over the area takes over once the lease
(``TASK_RUN_LEASE_SECONDS``) has run out. The message itself is acknowledged only when the task
ends (``acks_late``) and is given back to the broker when the worker process is lost
(``reject_on_worker_lost``); its new delivery finds its own dead run holding the lease and
retries after the lease, when it takes over, or answers the earlier delivery's result if that
one finished. Schedules are rows of django-celery-beat (``PeriodicTask``),
editable by an operator in the admin; the defaults come from ``monitoring/defaults.py``.
"""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError

from monitoring.models import RunStatus, TaskName, TaskRun
from monitoring.services import calls, quality, review, runs, scoring, screening, watch, year_end

RETRY = {
    "bind": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


#: Services of the layers above that a task here runs (they register in their AppConfig.ready:
#: this module must not import them), by task name.
PLUGGED: dict[str, object] = {}
#: This app's periodic services by task name: the one map the Celery tasks and
#: ``manage.py run_task`` share (the layers above plug theirs into ``PLUGGED``).
SERVICES = {
    TaskName.RISK_REVIEW: review.risk_review,
    TaskName.DEADLINE_WATCH: watch.deadline_watch,
    TaskName.VISIT_WATCH: watch.visit_watch,
    TaskName.MEASURE_WATCH: watch.measure_watch,
    TaskName.YEAR_END_ASSESSMENT: year_end.year_end_assessment,
    TaskName.SCREENING_CAMPAIGN: screening.screening_campaign,
    TaskName.DATA_QUALITY: quality.data_quality,
    TaskName.CALL_ESCALATION: calls.call_escalation,
    TaskName.HOUSEHOLD_SCORES: scoring.score_households,
}


def plug(name: str, service) -> None:
    """Let the task ``name`` run ``service(now=..., area_code=...)`` of a layer above."""
    PLUGGED[name] = service


def _run(task, name: str, service, area_code: str, user_id: int | None) -> dict:
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None

    def work(*, now, area_code):
        if name in (
            TaskName.RISK_REVIEW,
            TaskName.SCREENING_CAMPAIGN,
            TaskName.YEAR_END_ASSESSMENT,
            TaskName.FREEZE_LEDGERS,
        ):
            return service(now=now, area_code=area_code, actor=actor)
        return service(now=now, area_code=area_code)

    celery_id = task.request.id or ""
    done = (
        TaskRun.objects.filter(celery_id=celery_id, status=RunStatus.SUCCEEDED).first() if celery_id else None
    )
    if done is not None:
        # a new delivery of a message whose run finished before the worker could acknowledge it
        return {"run": done.pk, "status": done.status, **done.counts}
    run = runs.task_run(name, work, area_code=area_code or "", actor=actor, celery_id=celery_id)
    if run.status == RunStatus.SKIPPED and celery_id and task.request.retries < task.max_retries:
        mine = TaskRun.objects.filter(
            task=name, area_code=area_code or "", status=RunStatus.RUNNING, celery_id=celery_id
        )
        if mine.exists():
            # this message's earlier delivery died holding the lease: take over once it runs out
            raise task.retry(countdown=runs.lease().total_seconds() + 5)
    return {"run": run.pk, "status": run.status, **run.counts}


@shared_task(**RETRY)
def risk_review(self, area_code: str = "", user_id: int | None = None) -> dict:
    return _run(self, TaskName.RISK_REVIEW, review.risk_review, area_code, user_id)


@shared_task(**RETRY)
def deadline_watch(self, area_code: str = "", user_id: int | None = None) -> dict:
    return _run(self, TaskName.DEADLINE_WATCH, watch.deadline_watch, area_code, user_id)


@shared_task(**RETRY)
def visit_watch(self, area_code: str = "", user_id: int | None = None) -> dict:
    return _run(self, TaskName.VISIT_WATCH, watch.visit_watch, area_code, user_id)


@shared_task(**RETRY)
def measure_watch(self, area_code: str = "", user_id: int | None = None) -> dict:
    return _run(self, TaskName.MEASURE_WATCH, watch.measure_watch, area_code, user_id)


@shared_task(**RETRY)
def year_end_assessment(self, area_code: str = "", user_id: int | None = None) -> dict:
    return _run(self, TaskName.YEAR_END_ASSESSMENT, year_end.year_end_assessment, area_code, user_id)


@shared_task(**RETRY)
def screening_campaign(self, area_code: str = "", user_id: int | None = None) -> dict:
    return _run(self, TaskName.SCREENING_CAMPAIGN, screening.screening_campaign, area_code, user_id)


@shared_task(**RETRY)
def freeze_ledgers(self, area_code: str = "", user_id: int | None = None) -> dict:
    """Month end: freeze the previous month's ledgers of every county (reports.frozen)."""
    return _run(self, TaskName.FREEZE_LEDGERS, PLUGGED[TaskName.FREEZE_LEDGERS], area_code, user_id)


@shared_task(**RETRY)
def data_quality(self, area_code: str = "", user_id: int | None = None) -> dict:
    return _run(self, TaskName.DATA_QUALITY, quality.data_quality, area_code, user_id)


@shared_task(**RETRY)
def call_escalation(self, area_code: str = "", user_id: int | None = None) -> dict:
    """Every minute: the emergency calls' hops whose time has come are notified."""
    return _run(self, TaskName.CALL_ESCALATION, calls.call_escalation, area_code, user_id)


@shared_task(**RETRY)
def household_scores(self, area_code: str = "", user_id: int | None = None) -> dict:
    """Nightly: every household's identification score by its county's model, for triage."""
    return _run(self, TaskName.HOUSEHOLD_SCORES, scoring.score_households, area_code, user_id)
