"""Run records of the periodic tasks: one row per run, with what it found and did.

:func:`task_run` wraps a service: it refuses to start a second run of the same task over the
same area while one is running (a unique constraint, so also across workers), records the
counts the service returns, and on failure records the error and re-raises so Celery can
retry. The services themselves are idempotent: a retried or repeated run changes nothing
that the first one already did.

A running row is a lease: while the work runs, a heartbeat thread stamps ``heartbeat_at``
every quarter of ``TASK_RUN_LEASE_SECONDS``. A row whose heartbeat is older than the lease
belongs to a run that died without finishing (its worker was killed): the next run of the
task over the area marks it failed and takes over, in the same transaction that inserts its
own running row, so of two would-be takers one runs and the other is skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import traceback
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Area, Role
from monitoring.county import county_code_of
from monitoring.models import RunStatus, TaskName, TaskRun

log = logging.getLogger(__name__)

#: The last resort: a run still marked running this long after it started is taken over even
#: if something still stamps its heartbeat (a hung run).
STALE_AFTER = dt.timedelta(hours=6)


def lease() -> dt.timedelta:
    """How long a running row stays valid without a heartbeat."""
    return dt.timedelta(seconds=max(1, int(settings.TASK_RUN_LEASE_SECONDS)))


def dead_runs(task: str, area_code: str, *, at: dt.datetime):
    """The running rows of ``task`` over ``area_code`` whose lease has run out at ``at``."""
    cutoff = at - lease()
    dead = (
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(started_at__lt=at - STALE_AFTER)
    )
    return TaskRun.objects.filter(task=task, area_code=area_code, status=RunStatus.RUNNING).filter(dead)


def abandoned_reason(run: TaskRun) -> str:
    since = timezone.localtime(run.heartbeat_at or run.started_at)
    with translation.override(settings.LANGUAGE_CODE):
        return _("已中断：自%(since)s起没有心跳（进程可能已被终止），由新的运行接管。") % {
            "since": since.strftime("%Y-%m-%d %H:%M:%S")
        }


def take_over_and_start(fields: dict, *, started: dt.datetime) -> TaskRun | None:
    """Mark the dead running rows of the task failed and insert the new running row, in one
    transaction; None when another run holds the lease (or took over first)."""
    try:
        with transaction.atomic():
            for dead in dead_runs(fields["task"], fields["area_code"], at=started).select_for_update():
                TaskRun.objects.filter(pk=dead.pk, status=RunStatus.RUNNING).update(
                    status=RunStatus.FAILED, finished_at=started, error=abandoned_reason(dead)
                )
            return TaskRun.objects.create(
                status=RunStatus.RUNNING, started_at=started, heartbeat_at=started, **fields
            )
    except IntegrityError:
        return None


class Heartbeat(threading.Thread):
    """Stamps the run's ``heartbeat_at`` every ``every`` seconds, on its own database
    connection (closed when it stops), until stopped or until the row is no longer running."""

    def __init__(self, run_id: int, every: float):
        super().__init__(name=f"taskrun-heartbeat-{run_id}", daemon=True)
        self.run_id = run_id
        self.every = every
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    beating = TaskRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    log.warning("task run %s: heartbeat not stamped", self.run_id, exc_info=True)
                    connections.close_all()
                    continue
                if not beating:
                    log.warning("task run %s: no longer running (taken over?)", self.run_id)
                    return
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=max(5.0, self.every))


def heartbeat(run: TaskRun) -> Heartbeat | None:
    """Start the heartbeat of ``run``; none inside a transaction, where no other connection
    sees the row (so none can take it over either)."""
    if transaction.get_connection().in_atomic_block:
        return None
    beat = Heartbeat(run.pk, lease().total_seconds() / 4)
    beat.start()
    return beat


def finish(run: TaskRun, **values) -> None:
    """Write the run's outcome, unless another run took it over meanwhile (it stays failed)."""
    for name, value in values.items():
        setattr(run, name, value)
    if not TaskRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**values):
        log.warning("task run %s finished after it was taken over", run.pk)
        run.refresh_from_db()


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
    fields = {
        "task": task,
        "area_code": area_code,
        "as_of": as_of,
        "triggered_by": actor,
        "celery_id": celery_id or "",
    }
    run = take_over_and_start(fields, started=started)
    if run is None:
        return TaskRun.objects.create(
            status=RunStatus.SKIPPED, started_at=started, finished_at=timezone.now(), **fields
        )
    beat = heartbeat(run)
    try:
        counts = work(now=as_of, area_code=area_code)
    except Exception:
        if beat:
            beat.stop()
        finish(
            run,
            status=RunStatus.FAILED,
            error=traceback.format_exc(limit=8)[-4000:],
            finished_at=timezone.now(),
        )
        raise
    if beat:
        beat.stop()
    finish(run, status=RunStatus.SUCCEEDED, counts=counts or {}, finished_at=timezone.now())
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
    "dashboard_figures": ("county_approver", "township_reviewer"),
    "data_quality": ("county_approver", "township_reviewer"),
    "household_scores": ("county_approver", "township_reviewer"),
}


def celery_task(task: str):
    """The Celery task that runs ``task`` (a :class:`TaskName`), found by its name in the
    app's registry: ``monitoring.tasks`` wraps these services, so they do not import it (the
    reports' tasks, such as the export cleanup, are in ``reports.tasks``)."""
    name = f"monitoring.tasks.{task}"
    return current_app.tasks[name if name in current_app.tasks else f"reports.tasks.{task}"]


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
