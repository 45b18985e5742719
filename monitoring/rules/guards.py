"""Guards: pure checks that return ``None`` when an action may go ahead, or the reason it may not.

The selector that lists a person's options (``monitoring.selectors.case_actions``) and the
services that do the action call the same functions, so a page shows the very words a refusal
would give.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _

from households.models import HouseholdType, MonitoringCategory


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
