"""Excel exports as background jobs: request one (a retry finds the job already asked for), run
it (the Celery task ``reports.tasks.write_export`` calls :func:`run_export`), and remove the
expired files (:func:`remove_expired`, a periodic task).

The writer is :func:`reports.exports.write_list`; the file lives under ``MEDIA_ROOT/exports/``
and is served only to its owner, for ``EXPORT_RETENTION_HOURS`` after it is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from functools import partial
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.errors import NotAllowed, ValidationError
from config.db_router import reading_from_replica
from households.api import reveals_identity
from reports import exports, lists
from reports.columns import ListKind
from reports.forms import AreaIndex, LedgerQuery
from reports.models import ExportJob, ExportState

log = logging.getLogger(__name__)
WRITE_TASK = "reports.write_export"

#: why a job failed, in the reader's language (``ExportJob.error``)
ERROR_MESSAGES = {
    "invalid_query": _("查询条件有误，请修改后重新导出。"),
    "write_failed": _("写入文件时出错，请稍后重试；仍失败请联系系统管理员。"),
    "user_inactive": _("账号已停用，不能导出。"),
}


def retention() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "EXPORT_RETENTION_HOURS", 72))


def error_message(job: ExportJob) -> str:
    return str(ERROR_MESSAGES.get(job.error, ERROR_MESSAGES["write_failed"])) if job.error else ""


def _params_key(kind: str, params: dict, language: str) -> str:
    blob = json.dumps([kind, params, language], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def request_export(
    *, user, kind: str, params: dict, now, language: str | None = None
) -> tuple[ExportJob, bool]:
    """Ask for an export of the list ``kind`` with the query ``params`` (the list's filters, as
    the page and the API take them). Returns ``(job, created)``: the same request from the same
    person while an identical job is queued, running, or done and not expired returns that job,
    so a retry (a double click, a resent POST) never writes the file twice.

    Raises ``NotAllowed`` for a role that does not read the ledgers and ``ValidationError`` with
    the fields for a bad query. The job is written by a Celery task once the transaction
    commits (at once, in-process, when there is no broker)."""
    if not lists.may_read(user):
        raise NotAllowed(_("您的角色不能导出台账。"))
    try:
        kind = ListKind(kind)
    except ValueError:
        raise ValidationError({"kind": _("没有这个列表。")}) from None
    query = LedgerQuery(params, kind=kind, areas=AreaIndex(user), now=now)
    if not query.is_valid():
        raise ValidationError(query.error_messages())
    normalised = query.params()
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    key = _params_key(kind, normalised, language)
    with transaction.atomic():
        # one request of a person at a time: two identical requests cannot both create a job
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        alive = Q(state__in=[ExportState.QUEUED, ExportState.RUNNING]) | Q(
            state=ExportState.DONE, expires_at__gt=now
        )
        existing = ExportJob.objects.filter(alive, user=user, params_key=key).order_by("-created_at").first()
        if existing is not None:
            return existing, False
        job = ExportJob.objects.create(
            user=user,
            kind=kind,
            params=normalised,
            params_key=key,
            language=language,
            created_at=now,
            expires_at=now + retention(),
        )
        # the task (reports.tasks) wraps this module: found by its name in the app's registry
        transaction.on_commit(partial(current_app.tasks[WRITE_TASK].delay, job.pk))
    return job, True


def _filename(job: ExportJob, now) -> str:
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    as_of = job.params.get("as_of")
    return f"{job.kind}{'-' + as_of if as_of else ''}-{stamp}-{job.pk}.xlsx"


def run_export(job_id: int, *, now) -> ExportJob | None:
    """Write job ``job_id`` if it is queued (a second delivery of the task finds it running or
    done and does nothing). Progress is saved after every batch; a failure is kept with its
    reason. Returns the job."""
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportState.QUEUED).update(
        state=ExportState.RUNNING, started_at=now
    )
    job = ExportJob.objects.select_related("user").filter(pk=job_id).first()
    if not claimed or job is None:
        return job
    user = job.user
    if not user.is_active:
        return _fail(job, "user_inactive", "", now=now)
    directory = Path(settings.MEDIA_ROOT) / "exports"
    directory.mkdir(parents=True, exist_ok=True)
    name = _filename(job, now)
    path = directory / name

    def progress(written: int, total: int) -> None:
        ExportJob.objects.filter(pk=job_id).update(rows_written=written, rows_total=total)

    try:
        # the rows from the read replica when there is one (the job row itself from the primary)
        with translation.override(job.language), reading_from_replica():
            written = exports.write_list(
                path,
                kind=job.kind,
                user=user,
                params=job.params,
                reveal=reveals_identity(user),
                progress=progress,
                now=now,
            )
    except exports.ExportError as exc:
        path.unlink(missing_ok=True)
        return _fail(job, exc.code, exc.detail, now=now)
    except Exception as exc:  # noqa: BLE001 - kept on the job with its reason, and logged
        log.exception("export %s failed", job_id)
        path.unlink(missing_ok=True)
        return _fail(job, "write_failed", repr(exc)[:2000], now=now)
    finished = timezone.now()
    ExportJob.objects.filter(pk=job_id).update(
        state=ExportState.DONE,
        rows_written=written,
        rows_total=written,
        file=f"exports/{name}",
        filename=name,
        finished_at=finished,
        expires_at=finished + retention(),
    )
    job.refresh_from_db()
    return job


def _fail(job: ExportJob, code: str, detail: str, *, now) -> ExportJob:
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportState.FAILED, error=code, error_detail=detail, finished_at=now
    )
    job.refresh_from_db()
    return job


def export_cleanup(*, now, area_code: str = "") -> dict:
    """The periodic cleanup (``reports.tasks.export_cleanup``): every expired export, whatever
    the area (a file's owner is a person, not an area)."""
    return remove_expired(now=now)


def remove_expired(*, now) -> dict:
    """Delete the files of the jobs past their ``expires_at`` and mark those jobs expired
    (idempotent: an expired job is not looked at again). Returns the counts."""
    expired = ExportJob.objects.filter(expires_at__lte=now).exclude(state=ExportState.EXPIRED)
    removed = 0
    ids = []
    for pk, name in expired.values_list("pk", "file").iterator():
        ids.append(pk)
        if name:
            path = Path(settings.MEDIA_ROOT) / name
            if path.exists():
                path.unlink()
                removed += 1
    marked = ExportJob.objects.filter(pk__in=ids).update(state=ExportState.EXPIRED, file="")
    return {"expired": marked, "files_removed": removed}
