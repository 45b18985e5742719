"""What a person enters to complete a procedure step, checked per step kind (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from households.models import MonitoringCategory
from monitoring.models import StepKind
from monitoring.rules import coerce


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step's check needs besides the data: which procedure, today, the county's minimum."""

    procedure_kind: str
    today: dt.date
    min_exit_cadres: int = 2
    #: the exit home check (听评看算): photos attached to the step, and the income calculated
    #: from the household's income records (``None``: no record to calculate from)
    photos: int = 0
    income: dict | None = None


def _home_verification(data: Mapping, errors: dict, ctx: StepContext) -> dict:
    visited = coerce.date_field(data, "visited_on", errors, today=ctx.today)
    visitors = coerce.names_field(data.get("visitors"))
    needed = ctx.min_exit_cadres if ctx.procedure_kind == "exit" else 1
    if visitors is None:
        errors["visitors"] = _("请填写姓名。")
        visitors = []
    elif len(visitors) < needed:
        errors["visitors"] = _("入户核查人员不少于%(n)s人。") % {"n": needed}
    if ctx.procedure_kind == "identification" and not data.get("authorization_signed"):
        errors["authorization_signed"] = _("须有农户签字的承诺授权书，方可核查家庭资产和收入。")
    findings = coerce.text_field(data, "findings", errors)
    clean = {
        "visited_on": visited and visited.isoformat(),
        "visitors": list(visitors),
        "authorization_signed": bool(data.get("authorization_signed")),
        "findings": findings,
    }
    if ctx.procedure_kind == "exit":
        clean.update(_listen_assess_look_calculate(data, errors, ctx))
    codes = data.get("risk_type_codes")
    if codes:
        if isinstance(codes, list | tuple) and all(isinstance(c, str) for c in codes):
            clean["risk_type_codes"] = list(codes)
        else:
            errors["risk_type_codes"] = _("须为风险类型代码（字符串）的列表。")
    return clean


#: The four parts of the exit home check (听评看算), in order: what the household says, the
#: village's assessment, what the visitors saw (with photos), the calculated income.
EXIT_CHECK_PARTS = ("listen", "assess", "look", "income")


def _listen_assess_look_calculate(data: Mapping, errors: dict, ctx: StepContext) -> dict:
    """Jiaozhou's 听评看算: each of the four parts is required before the exit home check
    completes; the income is calculated by the service from the income records, never typed."""
    clean = {
        "listen": coerce.text_field(data, "listen", errors),
        "assess": coerce.text_field(data, "assess", errors),
        "look": coerce.text_field(data, "look", errors),
        "photos": ctx.photos,
        "income": ctx.income,
    }
    if ctx.photos < 1:
        errors["photos"] = _("请上传至少1张入户所见的照片。")
    if ctx.income is None:
        errors["income"] = _("该户没有可测算的收入记录，请先录入家庭收支情况。")
    return clean


def _data_comparison(data: Mapping, errors: dict, ctx: StepContext) -> dict:
    return {"findings": coerce.text_field(data, "findings", errors)}


def _village_review(data: Mapping, errors: dict, ctx: StepContext) -> dict:
    held = coerce.date_field(data, "held_on", errors, today=ctx.today)
    attendees = coerce.int_field(data, "attendees", errors, minimum=1)
    votes = {k: coerce.int_field(data, k, errors) for k in ("votes_for", "votes_against", "votes_abstain")}
    if attendees is not None and None not in votes.values() and sum(votes.values()) > attendees:
        errors["votes_for"] = _("表决票数之和不能超过参会人数。")
    minutes = coerce.text_field(data, "minutes", errors)
    return {"held_on": held and held.isoformat(), "attendees": attendees, **votes, "minutes": minutes}


def _township_review(data: Mapping, errors: dict, ctx: StepContext) -> dict:
    return {"opinion": coerce.text_field(data, "opinion", errors)}


def _county_approval(data: Mapping, errors: dict, ctx: StepContext) -> dict:
    clean = {"opinion": coerce.text_field(data, "opinion", errors, required=False)}
    if ctx.procedure_kind == "identification":
        clean["category"] = str(data.get("category") or "")
        if clean["category"] not in MonitoringCategory.values:
            errors["category"] = _("请选择监测对象类别。")
        clean["explanation"] = coerce.text_field(data, "explanation", errors, required=False)
    return clean


def _village_notice(data: Mapping, errors: dict, ctx: StepContext) -> dict:
    return {"note": coerce.text_field(data, "note", errors, required=False)}


#: Step kind → the check of what a person entered to complete it: ``(data, errors, ctx) → clean``
#: (adding each refused field's message to ``errors``).
VALIDATORS: dict[str, Callable[[Mapping, dict, StepContext], dict]] = {
    StepKind.HOME_VERIFICATION: _home_verification,
    StepKind.DATA_COMPARISON: _data_comparison,
    StepKind.VILLAGE_REVIEW: _village_review,
    StepKind.TOWNSHIP_REVIEW: _township_review,
    StepKind.COUNTY_APPROVAL: _county_approval,
    StepKind.VILLAGE_NOTICE: _village_notice,
}


def validate_step_data(
    kind: str,
    data: Mapping,
    *,
    procedure_kind: str,
    today: dt.date,
    min_exit_cadres: int = 2,
    photos: int = 0,
    income: dict | None = None,
) -> tuple[dict, dict]:
    """Check what a person entered to complete a step; returns ``(clean, errors)``.

    A kind without a check (none today) takes nothing: ``({}, {})``.
    """
    validator = VALIDATORS.get(kind)
    if validator is None:
        return {}, {}
    errors: dict[str, str] = {}
    ctx = StepContext(
        procedure_kind=procedure_kind,
        today=today,
        min_exit_cadres=min_exit_cadres,
        photos=photos,
        income=income,
    )
    return validator(data, errors, ctx), errors
