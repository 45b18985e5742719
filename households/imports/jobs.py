"""The import as a background job, and its workbooks.

``submit`` (the pages and the API call it) checks the actor and the file, stores it, records
the import in the security log (who, when, from where) and queues ``run``; ``run`` (the Celery
task ``households.tasks.run_import``) reads the file, checks every row with progress on the
job row, and, for a real run with no error, writes everything in one transaction through
``write.apply_rows``. A dry run, or a file with errors, writes nothing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import logging
import pickle

from celery import current_app
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role, SecurityEventKind
from accounts.security import security_event

from ..models import Household, ImportJob, ImportLayout, ImportState, IncomeRecord, MonitoringStatus, Person
from . import layouts, reader, validate, write

log = logging.getLogger(__name__)
IMPORT_ROLES = (Role.OPERATOR, Role.COUNTY_APPROVER)


def _actor_area(actor) -> str:
    codes = list(actor.areas.order_by("code").values_list("code", flat=True))
    return codes[0] if codes else ""


def submit(*, actor, upload, layout: str, dry_run: bool, request=None) -> ImportJob:
    """Check and store an uploaded file as a queued job; the job runs after the commit."""
    if actor is None or not actor.has_role(*IMPORT_ROLES):
        raise NotAllowed(_("只有系统管理员和县级用户可以导入数据。"))
    if layout not in ImportLayout.values:
        raise ValidationError({"layout": _("请选择导入格式。")})
    if upload is None:
        raise ValidationError({"file": _("请选择要导入的文件。")})
    try:
        reader.check_name_and_size(upload.name, upload.size)
    except reader.FileRefused as exc:
        raise ValidationError({"file": exc.message}) from None
    area_code = "" if actor.is_superuser and not actor.areas.exists() else _actor_area(actor)
    if not area_code and not actor.is_superuser:
        raise NotAllowed(_("您的账号没有工作区域，不能导入。"))
    with transaction.atomic():
        job = ImportJob(
            layout=layout,
            dry_run=bool(dry_run),
            file_name=str(upload.name)[:200],
            file_size=upload.size,
            area_code=area_code,
            created_by=actor,
            language=translation.get_language() or "zh-hans",
        )
        job.file.save("import.xlsx", ContentFile(upload.read()), save=False)
        job.save()
        security_event(
            SecurityEventKind.IMPORT,
            request=request,
            user=actor,
            job=job.pk,
            file=job.file_name,
            layout=layout,
            dry_run=job.dry_run,
        )
        # found by name (``households.tasks`` wraps this module, so it is not imported here)
        transaction.on_commit(lambda: current_app.tasks["households.run_import"].delay(job.pk))
    return job


def _save(job: ImportJob, *fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(**{name: getattr(job, name) for name in fields})


def run(job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.finished:
        return job
    with translation.override(job.language):
        job.state = ImportState.RUNNING
        _save(job, "state")
        try:
            _run(job)
        except reader.FileRefused as exc:
            job.state, job.message = ImportState.FAILED, exc.message[:500]
            job.errors = [{"sheet": "", "row": 0, "column": "", "message": exc.message}]
            job.error_count = 1
        job.finished_at = timezone.now()
        _save(
            job,
            "state",
            "message",
            "errors",
            "error_count",
            "summary",
            "finished_at",
            "rows_total",
            "rows_checked",
            "rows_written",
        )
    return job


def _run(job: ImportJob) -> None:
    job.sha256 = _digest(job)
    _save(job, "sha256")
    plan = _checked_plan(job)
    if plan is None:
        sheet = reader.open_sheet(job.file.path)

        def checked(n: int) -> None:
            job.rows_checked = n
            _save(job, "rows_checked")

        plan = validate.check(sheet, layout=job.layout, area_code=job.area_code, progress=checked)
    else:
        validate.recheck(plan, job.area_code)
        _save(job, "checked_from")
    job.rows_total = job.rows_checked = plan.rows
    job.errors = [e.as_dict() for e in plan.errors[:5000]]
    job.error_count = len(plan.errors)
    if plan.errors:
        job.state = ImportState.FAILED
        job.message = _("发现 %(n)s 处错误，未写入任何数据。") % {"n": len(plan.errors)}
        return
    if job.dry_run:
        _keep_plan(job, plan)
        job.state = ImportState.CHECKED
        job.message = _("检查通过：%(households)s 户、%(people)s 人，未写入。") % {
            "households": len(plan.households),
            "people": len(plan.people),
        }
        return

    def wrote(n: int) -> None:
        job.rows_written = n
        _save(job, "rows_written")

    result = write.apply_rows(
        plan, actor=job.created_by, reason=_("导入文件 %(name)s") % {"name": job.file_name}, progress=wrote
    )
    job.rows_written = plan.rows
    job.summary = result.as_dict()
    job.state = ImportState.DONE
    job.message = _("已导入：新增 %(ch)s 户、%(cp)s 人，修改 %(uh)s 户、%(up)s 人、%(ui)s 条收支。") % {
        "ch": result.created["households"],
        "cp": result.created["people"],
        "uh": result.changed["households"],
        "up": result.changed["people"],
        "ui": result.changed["incomes"],
    }


# A dry run's checked rows, reused by the real run of the same file ---------------------

#: how long a passed dry run's rows may stand in for the real run's row checks
REUSE_HOURS = 24
_PLAN_SALT = "households.imports.plan"


def _digest(job: ImportJob) -> str:
    digest = hashlib.sha256()
    with job.file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _keep_plan(job: ImportJob, plan: validate.Plan) -> None:
    """Store a passed dry run's plan, signed with the deployment's secret key."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as packed:
        pickle.dump(plan, packed, protocol=pickle.HIGHEST_PROTOCOL)
    data = out.getvalue()
    signature = salted_hmac(_PLAN_SALT, data, algorithm="sha256").hexdigest().encode()
    job.plan_file.save("plan.bin", ContentFile(signature + data), save=False)
    _save(job, "plan_file")


def _load_plan(source: ImportJob) -> validate.Plan | None:
    try:
        with source.plan_file.open("rb") as handle:
            blob = handle.read()
    except (OSError, ValueError):
        return None
    signature, data = blob[:64], blob[64:]
    expected = salted_hmac(_PLAN_SALT, data, algorithm="sha256").hexdigest().encode()
    if not constant_time_compare(signature, expected):
        log.warning("import plan of job %s has a bad signature; checking the file again", source.pk)
        return None
    try:
        # unpacked as it is read: the whole pickle is never in memory beside the plan
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as packed:
            return pickle.load(packed)  # noqa: S301 (signed by this deployment)
    except Exception:  # an unreadable plan (another version of the code): check again
        log.warning("import plan of job %s unreadable; checking the file again", source.pk, exc_info=True)
        return None


def _checked_plan(job: ImportJob) -> validate.Plan | None:
    """For a real run: the plan of a dry run of the same bytes, layout and area that passed in
    the last ``REUSE_HOURS`` hours with the same header names and code lists (``fingerprint``);
    None when there is none (the file is then checked row by row). The registry's checks are
    run again by the caller (``validate.recheck``)."""
    if job.dry_run:
        return None
    source = (
        ImportJob.objects.filter(
            dry_run=True,
            state=ImportState.CHECKED,
            sha256=job.sha256,
            layout=job.layout,
            area_code=job.area_code,
            finished_at__gte=timezone.now() - dt.timedelta(hours=REUSE_HOURS),
        )
        .exclude(plan_file="")
        .order_by("-finished_at", "-id")
        .first()
    )
    if source is None:
        return None
    plan = _load_plan(source)
    if plan is None or plan.errors or plan.fingerprint != validate.fingerprint(job.layout):
        return None
    job.checked_from = source
    return plan


def apply_checked(*, actor, source: ImportJob, request=None) -> ImportJob:
    """The real import of a file a dry run has passed, without uploading it again: a new job
    on the same stored file (its row checks reused, the registry's checked again)."""
    if actor is None or not actor.has_role(*IMPORT_ROLES):
        raise NotAllowed(_("只有系统管理员和县级用户可以导入数据。"))
    if not source.dry_run or source.state != ImportState.CHECKED:
        raise ValidationError({"job": _("只有检查通过的“仅检查”任务可以正式导入。")})
    if not source.file:
        raise ValidationError({"job": _("该任务的文件已不存在，请重新上传。")})
    with transaction.atomic():
        job = ImportJob(
            layout=source.layout,
            dry_run=False,
            file_name=source.file_name,
            file_size=source.file_size,
            area_code=source.area_code,
            created_by=actor,
            language=translation.get_language() or "zh-hans",
        )
        with source.file.open("rb") as handle:
            job.file.save("import.xlsx", ContentFile(handle.read()), save=False)
        job.save()
        security_event(
            SecurityEventKind.IMPORT,
            request=request,
            user=actor,
            job=job.pk,
            file=job.file_name,
            layout=job.layout,
            dry_run=False,
            checked_by=source.pk,
        )
        transaction.on_commit(lambda: current_app.tasks["households.run_import"].delay(job.pk))
    return job


# Workbooks -------------------------------------------------------------------------------

BOLD = Font(bold=True)
RED = PatternFill("solid", fgColor="FFC7CE")


def _bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def error_report(job: ImportJob) -> bytes:
    """The file's rows with the errors beside them (first column), then the list of errors."""
    by_row: dict[int, list[str]] = {}
    for e in job.errors:
        by_row.setdefault(e["row"], []).append(
            f"{e['column']}: {e['message']}" if e["column"] else e["message"]
        )
    workbook = Workbook(write_only=True)
    rows = workbook.create_sheet(_("错误行"))
    try:
        sheet = reader.open_sheet(job.file.path)
        rows.append([_("错误"), _("行号"), *[v if v is not None else "" for v in sheet.header]])
        for number, values in sheet.rows:
            if number in by_row:
                rows.append(["；".join(by_row[number]), number, *[_cell(v) for v in values]])
    except (reader.FileRefused, ValueError, OSError):
        # the uploaded file is unreadable or gone (a job without one, a file removed from the
        # storage): the report still lists every error
        rows.append([_("错误"), _("行号")])
    listing = workbook.create_sheet(_("错误清单"))
    listing.append([_("工作表"), _("行号"), _("列"), _("原因")])
    for e in job.errors:
        listing.append([e["sheet"], e["row"], e["column"], e["message"]])
    return _bytes(workbook)


def _cell(value):
    return "" if value is None else value


def template() -> bytes:
    """Our own layout: one header row with the fields' names, the code lists as drop-downs."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("导入模板")
    lists = workbook.create_sheet(_("代码表"))
    for column, f in enumerate(layouts.FIELDS, start=1):
        head = sheet.cell(row=1, column=column, value=str(f.label))
        head.font = BOLD
        letter = head.column_letter
        sheet.column_dimensions[letter].width = max(10, len(str(f.label)) * 2)
        options = None
        if f.choices is not None:
            items = f.choices.choices if hasattr(f.choices, "choices") else f.choices.CHOICES
            options = [str(label) for value, label in items if value != ""]
        elif f.kind == "bool":
            options = [_("是"), _("否")]
        elif f.kind == "risk":
            options = layouts.monitoring_source().risk_names()
        if options:
            lists.cell(row=1, column=column, value=str(f.label)).font = BOLD
            for i, text in enumerate(options, start=2):
                lists.cell(row=i, column=column, value=text)
            ref = f"'{lists.title}'!${letter}$2:${letter}${len(options) + 1}"
            check = DataValidation(type="list", formula1=ref, allow_blank=True)
            check.error = _("请从下拉列表中选择。")
            sheet.add_data_validation(check)
            check.add(f"{letter}2:{letter}60001")
    return _bytes(workbook)


def export_national(*, user, area_prefix: str = "") -> bytes:
    """The registry in the national person-per-row layout (the headers ``layouts`` reads back),
    one row per person, the household's latest income on each row; scoped by ``for_user``."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("基础信息表"))
    keys = layouts.NATIONAL_ORDER
    sheet.append([layouts.NATIONAL_HEADERS[k][0] for k in keys])
    households = Household.objects.for_user(user)
    if area_prefix:
        households = households.filter(area_code__startswith=area_prefix)
    people = (
        Person.objects.filter(household__in=households)
        .select_related("household")
        .order_by("household__number", "id")
    )
    latest: dict[int, IncomeRecord] = {}
    for record in IncomeRecord.objects.filter(household__in=households).order_by("household_id", "-year"):
        latest.setdefault(record.household_id, record)
    monitoring = layouts.monitoring_source().of_households(households.values("pk"))
    for person in people.iterator(chunk_size=2000):
        extra = monitoring.get(person.household_id, {})
        sheet.append([_export_value(k, person, latest.get(person.household_id), extra) for k in keys])
    return _bytes(workbook)


def _export_value(key: str, person: Person, record, monitoring: dict):
    target, name = key.split(".", 1)
    household = person.household
    f = layouts.BY_KEY[key]
    if target == "household":
        if name == "village":
            return household.area_code
        if name == "risk_eliminated":
            return _("是") if household.monitoring_status == MonitoringStatus.ELIMINATED else _("否")
        if key in layouts.RISK_KEYS:
            risks = monitoring.get("risks", [])
            index = layouts.RISK_KEYS.index(key)
            return risks[index] if index < len(risks) else ""
        if name == "elimination_mode":
            mode = monitoring.get("elimination_mode", "")
            return str(dict(layouts.EliminationMode.CHOICES).get(mode, "")) if mode else ""
        value = getattr(household, name)
    elif target == "person":
        value = getattr(person, name)
    else:
        if record is None:
            return ""
        value = getattr(record, name)
    if f.kind == "month":
        return value.strftime("%Y%m") if value else ""
    if f.kind == "bool":
        return _("是") if value else _("否")
    if f.kind == "code":
        items = dict(f.choices.choices if hasattr(f.choices, "choices") else f.choices.CHOICES)
        return str(items.get(value, "")) if value else ""
    if f.kind == "decimal":
        return float(value)
    return value if value is not None else ""
