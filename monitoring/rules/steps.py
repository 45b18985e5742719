"""What a person enters to complete a procedure step, checked per step kind (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.utils.translation import gettext as _

from households.models import MonitoringCategory
from monitoring.models import StepKind
from monitoring.rules import coerce


def validate_step_data(
    kind: str,
    data: Mapping,
    *,
    procedure_kind: str,
    today: dt.date,
    min_exit_cadres: int = 2,
) -> tuple[dict, dict]:
    """Check what a person entered to complete a step; returns ``(clean, errors)``."""
    errors: dict[str, str] = {}
    clean: dict = {}
    if kind == StepKind.HOME_VERIFICATION:
        visited = coerce.date_field(data, "visited_on", errors, today=today)
        visitors = coerce.names_field(data.get("visitors"))
        needed = min_exit_cadres if procedure_kind == "exit" else 1
        if visitors is None:
            errors["visitors"] = _("请填写姓名。")
            visitors = []
        elif len(visitors) < needed:
            errors["visitors"] = _("入户核查人员不少于%(n)s人。") % {"n": needed}
        if procedure_kind == "identification" and not data.get("authorization_signed"):
            errors["authorization_signed"] = _("须有农户签字的承诺授权书，方可核查家庭资产和收入。")
        findings = coerce.text_field(data, "findings", errors)
        clean = {
            "visited_on": visited and visited.isoformat(),
            "visitors": list(visitors),
            "authorization_signed": bool(data.get("authorization_signed")),
            "findings": findings,
        }
        codes = data.get("risk_type_codes")
        if codes:
            if isinstance(codes, list | tuple) and all(isinstance(c, str) for c in codes):
                clean["risk_type_codes"] = list(codes)
            else:
                errors["risk_type_codes"] = _("须为风险类型代码（字符串）的列表。")
    elif kind == StepKind.DATA_COMPARISON:
        clean = {"findings": coerce.text_field(data, "findings", errors)}
    elif kind == StepKind.VILLAGE_REVIEW:
        held = coerce.date_field(data, "held_on", errors, today=today)
        attendees = coerce.int_field(data, "attendees", errors, minimum=1)
        votes = {
            k: coerce.int_field(data, k, errors) for k in ("votes_for", "votes_against", "votes_abstain")
        }
        if attendees is not None and None not in votes.values() and sum(votes.values()) > attendees:
            errors["votes_for"] = _("表决票数之和不能超过参会人数。")
        minutes = coerce.text_field(data, "minutes", errors)
        clean = {"held_on": held and held.isoformat(), "attendees": attendees, **votes, "minutes": minutes}
    elif kind in (StepKind.TOWNSHIP_REVIEW,):
        clean = {"opinion": coerce.text_field(data, "opinion", errors)}
    elif kind == StepKind.COUNTY_APPROVAL:
        clean = {"opinion": coerce.text_field(data, "opinion", errors, required=False)}
        if procedure_kind == "identification":
            clean["category"] = str(data.get("category") or "")
            if clean["category"] not in MonitoringCategory.values:
                errors["category"] = _("请选择监测对象类别。")
            clean["explanation"] = coerce.text_field(data, "explanation", errors, required=False)
    elif kind == StepKind.VILLAGE_NOTICE:
        clean = {"note": coerce.text_field(data, "note", errors, required=False)}
    return clean, errors
