"""The workflow's pure rules: transition tables, step-data validation, guards.

Nothing here touches the database. Every guard returns ``None`` when the action may go
ahead, or the reason (a sentence a person understands) when it may not, so a page can show
*why* an action is unavailable and the service can refuse with the same words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext as _

from households.models import HouseholdType, MonitoringCategory
from monitoring.models import CaseStatus, ClueStatus, StepKind, StepStatus

# --- transition tables: action -> (allowed from, to) ---------------------------------------

C = CaseStatus
CASE_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "green_channel": (frozenset({C.IDENTIFYING}), C.PROVISIONAL),
    "identify": (frozenset({C.IDENTIFYING, C.PROVISIONAL}), C.MONITORED),
    "reject": (frozenset({C.IDENTIFYING, C.PROVISIONAL}), C.NOT_INCLUDED),
    "secure_tracking": (frozenset({C.MONITORED}), C.SECURED_TRACKING),
    "start_exit": (frozenset({C.MONITORED, C.SECURED_TRACKING}), C.EXIT_IN_PROGRESS),
    "exit_rejected": (frozenset({C.EXIT_IN_PROGRESS}), C.MONITORED),
    "exit_rejected_secured": (frozenset({C.EXIT_IN_PROGRESS}), C.SECURED_TRACKING),
    "eliminate": (frozenset({C.EXIT_IN_PROGRESS}), C.ELIMINATED),
}

S = StepStatus
STEP_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "unlock": (frozenset({S.WAITING}), S.AVAILABLE),
    "complete": (frozenset({S.AVAILABLE}), S.DONE),
    "reject": (frozenset({S.AVAILABLE}), S.REJECTED),
    "return": (frozenset({S.AVAILABLE}), S.WAITING),
    "reopen": (frozenset({S.DONE}), S.AVAILABLE),
    "cancel": (frozenset({S.WAITING, S.AVAILABLE}), S.CANCELLED),
}

K = ClueStatus
CLUE_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "match": (frozenset({K.UNMATCHED}), K.PENDING),
    "attach": (frozenset({K.UNMATCHED, K.PENDING}), K.ATTACHED),
    "open_case": (frozenset({K.PENDING}), K.CASE_OPENED),
    "dismiss": (frozenset({K.UNMATCHED, K.PENDING}), K.DISMISSED),
}

#: Steps whose actor may send the case back to the steps it waits for.
RETURNABLE_KINDS = frozenset({StepKind.TOWNSHIP_REVIEW, StepKind.COUNTY_APPROVAL, StepKind.DATA_COMPARISON})


def transition_error(table: Mapping[str, tuple[frozenset[str], str]], action: str, current: str, labels=None):
    """``None`` if ``action`` is allowed from ``current`` in ``table``, else the reason."""
    if action not in table:
        return _("未知的操作。")
    allowed, _to = table[action]
    if current in allowed:
        return None
    label = labels(current) if labels else current
    return _("当前状态（%(status)s）不能进行此操作。") % {"status": label}


def target(table, action: str) -> str:
    return table[action][1]


# --- step data ----------------------------------------------------------------------------


def _int(data, key, errors, *, minimum=0):
    raw = data.get(key)
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        errors[key] = _("请填写整数。")
        return None
    if value < minimum:
        errors[key] = _("不能小于%(min)s。") % {"min": minimum}
        return None
    return value


def _date(data, key, errors, *, today: dt.date, required=True):
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            errors[key] = _("请填写日期。")
        return None
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if not isinstance(raw, dt.date):
        try:
            raw = dt.date.fromisoformat(str(raw))
        except ValueError:
            errors[key] = _("日期格式不正确。")
            return None
    if raw > today:
        errors[key] = _("日期不能晚于今天。")
        return None
    return raw


def _text(data, key, errors, *, required=True):
    raw = data.get(key)
    if isinstance(raw, Mapping | list | tuple | set):
        errors[key] = _("须为字符串。")
        return ""
    value = str(raw or "").strip()
    if "\x00" in value:  # PostgreSQL refuses it, in text and in JSON alike
        errors[key] = str(ProhibitNullCharactersValidator.message)
        return ""
    if required and not value:
        errors[key] = _("请填写此项。")
    return value


def _names(raw) -> list[str] | None:
    """People's names: a list of names, or one string of names separated by commas;
    ``None`` when it is neither (or a name is not text)."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = raw.replace("，", ",").split(",")
    if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
        return None
    names = [v.strip() for v in raw if v.strip()]
    return None if any("\x00" in v for v in names) else names


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
        visited = _date(data, "visited_on", errors, today=today)
        visitors = _names(data.get("visitors"))
        needed = min_exit_cadres if procedure_kind == "exit" else 1
        if visitors is None:
            errors["visitors"] = _("请填写姓名。")
            visitors = []
        elif len(visitors) < needed:
            errors["visitors"] = _("入户核查人员不少于%(n)s人。") % {"n": needed}
        if procedure_kind == "identification" and not data.get("authorization_signed"):
            errors["authorization_signed"] = _("须有农户签字的承诺授权书，方可核查家庭资产和收入。")
        findings = _text(data, "findings", errors)
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
        clean = {"findings": _text(data, "findings", errors)}
    elif kind == StepKind.VILLAGE_REVIEW:
        held = _date(data, "held_on", errors, today=today)
        attendees = _int(data, "attendees", errors, minimum=1)
        votes = {k: _int(data, k, errors) for k in ("votes_for", "votes_against", "votes_abstain")}
        if attendees is not None and None not in votes.values() and sum(votes.values()) > attendees:
            errors["votes_for"] = _("表决票数之和不能超过参会人数。")
        minutes = _text(data, "minutes", errors)
        clean = {"held_on": held and held.isoformat(), "attendees": attendees, **votes, "minutes": minutes}
    elif kind in (StepKind.TOWNSHIP_REVIEW,):
        clean = {"opinion": _text(data, "opinion", errors)}
    elif kind == StepKind.COUNTY_APPROVAL:
        clean = {"opinion": _text(data, "opinion", errors, required=False)}
        if procedure_kind == "identification":
            clean["category"] = str(data.get("category") or "")
            if clean["category"] not in MonitoringCategory.values:
                errors["category"] = _("请选择监测对象类别。")
            clean["explanation"] = _text(data, "explanation", errors, required=False)
    elif kind == StepKind.VILLAGE_NOTICE:
        clean = {"note": _text(data, "note", errors, required=False)}
    return clean, errors


# --- guards -------------------------------------------------------------------------------


def category_error(category: str, household_type: str, *, explanation: str = "") -> str | None:
    """domain §7.3 rule 2: 脱贫不稳定户 ⇒ 脱贫户; 边缘易致贫户 ⇒ not 脱贫户; 突发 either, explained."""
    if category == MonitoringCategory.UNSTABLE and household_type != HouseholdType.OUT_OF_POVERTY:
        return _("脱贫不稳定户只能是脱贫户；该户为一般农户。")
    if category == MonitoringCategory.MARGINAL and household_type == HouseholdType.OUT_OF_POVERTY:
        return _("边缘易致贫户不能是脱贫户；脱贫户请选择脱贫不稳定户或突发严重困难户。")
    if category == MonitoringCategory.SUDDEN and not explanation.strip():
        return _("突发严重困难户须说明刚性支出或收入骤减的情况。")
    return None


def category_warning(category: str, per_capita, threshold) -> str | None:
    monitored = category in (MonitoringCategory.UNSTABLE, MonitoringCategory.MARGINAL)
    if monitored and per_capita is not None and threshold is not None and per_capita >= threshold:
        return _("该户人均纯收入（%(pc)s元）不低于监测线（%(t)s元），请核实。") % {
            "pc": per_capita,
            "t": threshold,
        }
    return None


def risk_types_error(
    codes: Iterable[str], *, roots: Mapping[str, str], needs_subtype: set[str], maximum: int = 5
):
    """domain §7.3 rule 3: 1 to 5 risk types; a natural disaster needs its sub-item."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return _("至少选择一种风险类型。")
    if len(codes) > maximum:
        return _("风险类型最多%(n)s种。") % {"n": maximum}
    unknown = [c for c in codes if c not in roots]
    if unknown:
        return _("未知的风险类型：%(codes)s。") % {"codes": "、".join(unknown)}
    lacking = [c for c in codes if c in needs_subtype]
    if lacking:
        return _("自然灾害须选择具体子项（洪涝、地质、旱灾等）。")
    return None


def notice_error(
    *, posted: bool, end_date: dt.date | None, today: dt.date, open_objections: int
) -> str | None:
    """A notice can be closed only once posted, after it has run its days, with no open objection."""
    if not posted:
        return _("尚未发布公示。")
    if open_objections:
        return _("公示期间有未处理的异议，须先调查处理。")
    if end_date is not None and today <= end_date:
        return _("公示期未满（至%(end)s），期满后方可办结。") % {"end": end_date.isoformat()}
    return None


def approval_error(*, pending_steps: list[str], open_objections: int) -> str | None:
    if open_objections:
        return _("有未处理的公示异议，不能审定。")
    if pending_steps:
        return _("以下步骤尚未完成：%(steps)s。") % {"steps": "、".join(pending_steps)}
    return None
