"""Run records of the periodic tasks: one row per run, with what it found and did.

:func:`task_run` wraps a service: it refuses to start a second run of the same task over the
same area while one is running (a unique constraint, so also across workers), records the
counts the service returns, and on failure records the error and re-raises so Celery can
retry. The services themselves are idempotent: a retried or repeated run changes nothing
that the first one already did.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Area, Role
from monitoring.county import county_code_of
from monitoring.models import RunStatus, TaskName, TaskRun

#: A run still marked running after this long was cut off (worker killed): it no longer blocks.
STALE_AFTER = dt.timedelta(hours=6)


def task_run(
    task: str,
    work: Callable[..., dict],
    *,
    area_code: str = "",
    now: dt.datetime | None = None,
    actor=None,
    celery_id: str = "",
) -> TaskRun:
    """Run ``work(now=..., area_code=...)`` and record it; returns the run record."""
    as_of = now or timezone.now()
    started = timezone.now()
    TaskRun.objects.filter(
        task=task, area_code=area_code, status=RunStatus.RUNNING, started_at__lt=started - STALE_AFTER
    ).update(status=RunStatus.FAILED, finished_at=started, error="abandoned: still running after 6 hours")
    fields = {
        "task": task,
        "area_code": area_code,
        "as_of": as_of,
        "triggered_by": actor,
        "celery_id": celery_id or "",
    }
    try:
        with transaction.atomic():
            run = TaskRun.objects.create(status=RunStatus.RUNNING, started_at=started, **fields)
    except IntegrityError:
        return TaskRun.objects.create(
            status=RunStatus.SKIPPED, started_at=started, finished_at=timezone.now(), **fields
        )
    try:
        counts = work(now=as_of, area_code=area_code)
    except Exception:
        run.status = RunStatus.FAILED
        run.error = traceback.format_exc(limit=8)[-4000:]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.status = RunStatus.SUCCEEDED
    run.counts = counts or {}
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "finished_at"])
    return run


#: Who may start which task on demand, over an area of theirs (operators: any task; only
#: superusers may run one over the whole deployment).
ON_DEMAND = {
    "risk_review": ("county_approver", "township_reviewer"),
    "deadline_watch": ("county_approver",),
    "visit_watch": ("county_approver", "township_reviewer"),
    "measure_watch": ("county_approver", "township_reviewer"),
    "year_end_assessment": ("county_approver",),
    "screening_campaign": ("county_approver",),
}


def celery_task(task: str):
    """The Celery task that runs ``task`` (a :class:`TaskName`), found by its name in the
    app's registry: ``monitoring.tasks`` wraps these services, so they do not import it."""
    return current_app.tasks[f"monitoring.tasks.{task}"]


def may_start(actor, task: str) -> bool:
    """May ``actor`` start ``task`` on demand (over an area of theirs)?"""
    return actor.has_role(Role.OPERATOR, *ON_DEMAND.get(task, ()))


def run_request(*, actor, task: str, area_code: str) -> None:
    """Queue an on-demand run of ``task`` over ``area_code`` (after commit). Checks that the
    actor may start it and that the area is theirs; with no broker configured it runs at once."""
    if task not in TaskName.values:
        raise ValidationError({"task": _("请选择任务。")})
    if not may_start(actor, task):
        raise NotAllowed(_("您无权手动运行该任务。"))
    area = Area.objects.filter(code=area_code or "").first() if area_code else None
    if area_code and area is None:
        raise ValidationError({"area_code": _("请选择区域。")})
    if area is None and not actor.is_superuser:
        raise ValidationError({"area_code": _("请选择区域。")})
    if area is not None and not actor.covers(area.code):
        raise NotAllowed(_("该区域不在您的工作范围内。"))
    if (
        task == TaskName.RISK_REVIEW
        and area is not None
        and area.level not in ("county", "township", "village")
    ):
        raise ValidationError({"area_code": _("请选择县、乡镇或村。")})

    if task == TaskName.SCREENING_CAMPAIGN and area is not None:
        # a campaign is the county's: record (and lock) the run as the county's
        area_code = county_code_of(area.code)

    def queue():
        celery_task(task).delay(area_code=area_code or "", user_id=actor.pk)

    transaction.on_commit(queue)
