"""The exit home check's four parts (听评看算, Jiaozhou's exit method): listen to the household,
the village's assessment, look (with photos attached to the step), calculate the income from
the income records.

The parts are the exit procedure's home-verification step data (checked by
:func:`monitoring.rules.steps.validate_step_data`, each required); this module adds what the
step needs besides typed text: the photos (:func:`step_photo_add`, uploaded before the step is
completed) and the calculated income (:func:`calculated_income`, read when the step completes
and kept with it). :func:`home_check` gives the exit page the parts beside the criteria.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.errors import InvalidTransition, ValidationError
from households.models import IncomeRecord
from monitoring.county import threshold_for
from monitoring.models import CaseStep, ProcedureKind, StatusChange, StepKind, StepPhoto, StepStatus
from monitoring.rules import deadlines
from monitoring.services.audit import record_change
from monitoring.services.procedure import check_step_actor, lock_step, now_or

#: Photos per home check, and per photo.
PHOTO_MAX_COUNT = 9
PHOTO_MAX_BYTES = 5 * 1024 * 1024
#: Accepted images, recognised by their first bytes (not by the name or the declared type).
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def is_exit_home_check(step: CaseStep) -> bool:
    return step.kind == StepKind.HOME_VERIFICATION and step.procedure_kind == ProcedureKind.EXIT


def image_type(head: bytes) -> tuple[str, str] | None:
    """``(content type, extension)`` of a JPEG or PNG by its first bytes, else ``None``."""
    for signature, content_type, ext in SIGNATURES:
        if head.startswith(signature):
            return content_type, ext
    return None


@transaction.atomic
def step_photo_add(
    *, actor, step: CaseStep, upload, caption: str = "", now: dt.datetime | None = None
) -> StepPhoto:
    """Attach a photo (JPEG or PNG, at most 5 MB, at most 9 per check) to an exit home check
    that the actor may complete now."""
    now = now_or(now)
    case, step = lock_step(step)
    check_step_actor(actor, step, case)
    if not is_exit_home_check(step):
        raise InvalidTransition(_("只有风险消除的入户核查可以上传照片。"))
    if step.status != StepStatus.AVAILABLE:
        raise InvalidTransition(_("该步骤当前不能上传照片。"))
    errors = {}
    caption = (caption or "").strip()
    if len(caption) > 100:
        errors["caption"] = _("说明不能超过100个字符。")
    kind = None
    if upload is None:
        errors["photo"] = _("请选择照片。")
    elif upload.size > PHOTO_MAX_BYTES:
        errors["photo"] = _("照片不能超过5MB。")
    else:
        upload.seek(0)
        kind = image_type(upload.read(16))
        upload.seek(0)
        if kind is None:
            errors["photo"] = _("只能上传JPEG或PNG格式的照片。")
    if step.photos.count() >= PHOTO_MAX_COUNT:
        errors["photo"] = _("每次入户核查最多上传%(n)s张照片。") % {"n": PHOTO_MAX_COUNT}
    if errors:
        raise ValidationError(errors)
    content_type, ext = kind
    photo = StepPhoto(
        step=step,
        case=case,
        area_code=case.area_code,
        content_type=content_type,
        size=upload.size,
        caption=caption,
        uploaded_by=actor if actor is not None and actor.pk else None,
        uploaded_at=now,
    )
    photo.file.save(f"case{case.pk}-step{step.pk}.{ext}", upload, save=False)
    photo.save()
    record_change(
        obj=step,
        object_type="step",
        case=case,
        action="add_photo",
        from_status=step.status,
        to_status=step.status,
        actor=actor,
        at=now,
        data={"photo": photo.pk, "caption": caption},
    )
    return photo


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.01")), "f")


def calculated_income(household, *, today: dt.date) -> dict | None:
    """The income the check calculates (算): the household's latest income record of the year or
    before (income, expenditure, members and the computed per-capita net income) against the
    monitoring line of the year; ``None`` when there is no record to calculate from."""
    record = (
        IncomeRecord.objects.filter(
            household=household, year__lte=today.year, per_capita_net_income__isnull=False
        )
        .order_by("-year")
        .first()
    )
    if record is None:
        return None
    threshold = threshold_for(household.area_code, today.year)
    line = threshold.amount if threshold else None
    gross = record.wages + record.business + record.property_income + record.transfer
    return {
        "year": record.year,
        "gross_income": _money(gross),
        "business_expenditure": _money(record.business_expenditure),
        "net_income": _money(record.net_income),
        "members": record.members,
        "per_capita": _money(record.per_capita_net_income),
        "line_year": today.year,
        "line": _money(line),
        "above_line": None if line is None else record.per_capita_net_income >= line,
    }


def completion_facts(step: CaseStep, case, *, now: dt.datetime) -> dict:
    """What the step's check needs besides the typed data (for :func:`validate_step_data`)."""
    if not is_exit_home_check(step):
        return {}
    return {
        "photos": step.photos.count(),
        "income": calculated_income(case.household, today=deadlines.local_date(now)),
    }


def home_check(case, *, now: dt.datetime) -> dict | None:
    """The exit home check of the case's exit procedure for the exit page: its step, the four
    parts as recorded (or, before it is done, the income as it would be calculated now) and its
    photos; ``None`` before the exit procedure has a home check."""
    step = (
        case.steps.filter(procedure_kind=ProcedureKind.EXIT, kind=StepKind.HOME_VERIFICATION)
        .order_by("-id")
        .first()
    )
    if step is None:
        return None
    data = step.data or {}
    done = step.status == StepStatus.DONE
    income = (
        data.get("income") if done else calculated_income(case.household, today=deadlines.local_date(now))
    )
    uploads = StatusChange.objects.filter(
        case=case, object_type="step", object_id=step.pk, action="add_photo"
    )
    return {
        "step": step,
        "done": done,
        "listen": data.get("listen", ""),
        "assess": data.get("assess", ""),
        "look": data.get("look", ""),
        "income": income,
        "photos": list(step.photos.all()),
        "uploads": uploads.count(),
    }
