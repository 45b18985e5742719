"""Shared helpers for the workflow tests: explicit Shanghai times, step data, and a runner
that takes a case through its procedure on given dates (no clock patching anywhere)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from accounts.models import Role
from households import services as household_services
from monitoring.models import (
    CaseStep,
    CountySettings,
    MonitoringCase,
    ProcedureDefinition,
    PublicNotice,
    StatusChange,
    StepKind,
    StepStatus,
)
from monitoring.services import cases, clues

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC

OVERLAPPED_NAME = "阳原县叠加识别程序（15天）"
SERIAL_NAME = "串联识别程序（30天）"
EXIT_NAME = "风险消除程序"
OVERLAPPED_CODES = [
    "home_verification",
    "data_comparison",
    "village_review",
    "village_notice",
    "township_review",
    "county_approval",
]


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware Asia/Shanghai datetime on ``day``."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def d(month: int, day: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, day)


@dataclass
class Actors:
    cadre: object
    township_reviewer: object
    county_approver: object

    def for_role(self, role: str):
        return {
            Role.VILLAGE_CADRE: self.cadre,
            Role.TOWNSHIP_REVIEWER: self.township_reviewer,
            Role.COUNTY_APPROVER: self.county_approver,
        }[role]

    def for_step(self, step: CaseStep):
        return self.for_role(step.actor_role)


def procedure(name: str) -> ProcedureDefinition:
    return ProcedureDefinition.objects.get(county__isnull=True, name=name)


def use_procedure(name: str, county=None) -> CountySettings:
    """Make ``name`` the identification procedure (of the default settings, or of ``county``)."""
    proc = procedure(name)
    if county is None:
        row = CountySettings.objects.get(county__isnull=True)
        row.identification_procedure = proc
        row.save()
        return row
    default = CountySettings.objects.get(county__isnull=True)
    return CountySettings.objects.create(
        county=county, identification_procedure=proc, exit_procedure=default.exit_procedure
    )


def step_data(step: CaseStep, today: dt.date, *, category: str = "marginal", explanation: str = "") -> dict:
    """Valid data to complete ``step`` on ``today``."""
    exit_ = step.procedure_kind == "exit"
    if step.kind == StepKind.HOME_VERIFICATION:
        data = {
            "visited_on": today.isoformat(),
            "visitors": ["张三", "李四"] if exit_ else ["张三"],
            "authorization_signed": not exit_,
            "findings": "已入户核实",
        }
        if exit_:
            # 听评看算: the three texts here, a photo attached to the step, and an income
            # record to calculate from (one of last year's at the line, if there is none)
            data.update(listen="收入稳定，无新增困难", assess="村两委评议：已稳定", look="住房安全，生活正常")
            attach_photo(step, at(today, 9))
            ensure_income(step.case.household, today.year - 1)
        return data
    if step.kind == StepKind.DATA_COMPARISON:
        return {"findings": "比对无异常"}
    if step.kind == StepKind.VILLAGE_REVIEW:
        return {
            "held_on": today.isoformat(),
            "attendees": 9,
            "votes_for": 8,
            "votes_against": 1,
            "votes_abstain": 0,
            "minutes": "评议通过",
        }
    if step.kind == StepKind.TOWNSHIP_REVIEW:
        return {"opinion": "同意"}
    if step.kind == StepKind.COUNTY_APPROVAL:
        if exit_:
            return {"opinion": "同意风险消除"}
        return {"category": category, "explanation": explanation, "opinion": "同意纳入"}
    return {}


def tiny_png() -> bytes:
    """A valid 1×1 PNG."""
    from monitoring.demo import sample_png

    return sample_png()


def attach_photo(step: CaseStep, now: dt.datetime):
    """A photo on an exit home check (by the system), unless it has one."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from monitoring.services.exit_check import step_photo_add

    if step.photos.exists():
        return step.photos.first()
    upload = SimpleUploadedFile("look.png", tiny_png(), content_type="image/png")
    return step_photo_add(actor=None, step=step, upload=upload, caption="入户所见", now=now)


def ensure_income(household, year: int) -> None:
    """An income record to calculate from: the household's own, else one at 1.5 times the
    default line of ``year``."""
    from households.models import IncomeRecord

    if IncomeRecord.objects.filter(household=household, per_capita_net_income__isnull=False).exists():
        return
    members = max(household.members.filter(is_resident=True).count(), 1)
    household_services.income_record_set(
        actor=None, household=household, year=year, wages=str(15000 * members)
    )


def step(case: MonitoringCase, code: str, procedure_kind: str = "identification") -> CaseStep:
    """The case's current step with ``code`` (the latest one when an exit ran twice)."""
    return case.steps.filter(code=code, procedure_kind=procedure_kind).order_by("-id").first()


def complete(case, code, actors: Actors, now: dt.datetime, *, procedure_kind="identification", **kw):
    s = step(case, code, procedure_kind)
    data = kw.pop("data", None)
    if data is None:
        data = step_data(s, now.astimezone(SH).date(), **kw)
    return cases.step_complete(actor=actors.for_step(s), step=s, data=data, now=now)


def open_case(
    household,
    actor,
    found: dt.date,
    *,
    now: dt.datetime | None = None,
    risk_type_codes=("01",),
    channel: str = "self_report",
) -> MonitoringCase:
    """A self-report (or cadre screening) clue that opens a case at once."""
    clue = clues.clue_create(
        actor=actor,
        channel=channel,
        found_date=found,
        risk_type_codes=list(risk_type_codes),
        household=household,
        now=now or at(found),
    )
    assert clue.case is not None, "the clue should have opened a case"
    return clue.case


def run_procedure(
    case: MonitoringCase,
    actors: Actors,
    start: dt.date,
    *,
    procedure_kind: str = "identification",
    until: str | None = None,
    category: str = "marginal",
    explanation: str = "",
) -> dt.date:
    """Complete the case's steps day by day from ``start``: each day every available step is
    completed (a notice is posted, then completed the day after it ends).

    Stops before completing ``until`` (when it becomes available) and returns the next day
    the runner would have acted on.
    """
    day = start
    for _round in range(60):
        available = list(
            case.steps.filter(procedure_kind=procedure_kind, status=StepStatus.AVAILABLE).order_by(
                "sort_order", "id"
            )
        )
        if not available:
            return day
        if until and any(s.code == until for s in available):
            return day
        next_day = day + dt.timedelta(days=1)
        for s in available:
            actor = actors.for_step(s)
            if s.kind == StepKind.VILLAGE_NOTICE:
                notice = PublicNotice.objects.filter(step=s).first()
                if notice is None:
                    notice = cases.notice_post(actor=actor, step=s, now=at(day))
                if day <= notice.end_date:
                    next_day = max(next_day, notice.end_date + dt.timedelta(days=1))
                    continue
            cases.step_complete(
                actor=actor,
                step=s,
                data=step_data(s, day, category=category, explanation=explanation),
                now=at(day),
            )
        day = next_day
    raise AssertionError("procedure did not finish in 60 rounds")


def identified_case(
    household, actors: Actors, found: dt.date, *, risk_type_codes=("01",), category="marginal"
):
    """A case opened on ``found`` and run through identification; returns (case, next free day)."""
    case = open_case(household, actors.cadre, found, risk_type_codes=risk_type_codes)
    next_day = run_procedure(case, actors, found + dt.timedelta(days=1), category=category)
    case.refresh_from_db()
    return case, next_day


def changes(obj_type: str, obj_id: int):
    return list(StatusChange.objects.filter(object_type=obj_type, object_id=obj_id).order_by("at", "id"))


def set_household(household, actor, **fields):
    return household_services.household_update(actor=actor, household=household, reason="测试", **fields)
