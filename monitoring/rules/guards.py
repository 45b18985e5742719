"""Guards: pure checks that return ``None`` when an action may go ahead, or the reason it may not.

The selector that lists a person's options (``monitoring.selectors.case_actions``) and the
services that do the action call the same functions, so a page shows the very words a refusal
would give. A guard reads nothing: what it needs from the database (is the case in the person's
area, has the notice been posted, how many objections are open…) is read by its caller.

The services check the person first (their area and role: ``NotAllowed``), then the state
(``InvalidTransition``); the selector asks in the same order, so both give the same first reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.texts import join_list
from households.models import HouseholdType, MonitoringCategory
from monitoring.models import CaseStatus, StepKind
from monitoring.rules.transitions import STOP

#: Who may take the green channel (绿色通道) and move a case to secured tracking (the area besides).
GREEN_CHANNEL_ROLES = (Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER)
SECURE_TRACKING_ROLES = (Role.COUNTY_APPROVER,)


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
        return _("未知的风险类型：%(codes)s。") % {"codes": join_list(unknown)}
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
        return _("以下步骤尚未完成：%(steps)s。") % {"steps": join_list(pending_steps)}
    return None


# --- the person -------------------------------------------------------------------------------


def area_error(*, covered: bool) -> str | None:
    """``covered``: the case's area is inside the person's (``user.covers(case.area_code)``)."""
    return None if covered else _("该农户不在您的工作区域内。")


def role_error(*, has_role: bool) -> str | None:
    return None if has_role else _("您的角色不能办理此事项。")


def staff_error(*, has_role: bool, covered: bool) -> str | None:
    """Objections and the plan: the role, then the area (as ``require_role``, ``require_area``)."""
    return role_error(has_role=has_role) or area_error(covered=covered)


def step_actor_error(*, covered: bool, has_role: bool, role_label: str) -> str | None:
    """A step is done by its role, in the case's area."""
    if not covered:
        return area_error(covered=False)
    if not has_role:
        return _("此步骤由%(role)s办理。") % {"role": role_label}
    return None


def green_channel_actor_error(*, has_role: bool, covered: bool) -> str | None:
    if not has_role:
        return _("须由乡镇或县级人员办理。")
    return area_error(covered=covered)


def secure_tracking_actor_error(*, has_role: bool, covered: bool) -> str | None:
    if not has_role:
        return _("须由县级人员办理。")
    return area_error(covered=covered)


def exit_proposer_error(*, has_role: bool, covered: bool) -> str | None:
    if not has_role:
        return _("无权提出。")
    return area_error(covered=covered)


def measure_actor_error(
    action: str,
    *,
    role: str,
    superuser: bool = False,
    covered: bool,
    own_department: bool = False,
    department: str | None = None,
) -> str | None:
    """Who may act on a measure.

    * ``start`` / ``complete``: a user of the owning department (``own_department``), county
      staff of the county, and township staff of the township when no department owns the
      measure (``department``: the owning department's name, ``None`` for none);
    * ``stop``: county and township staff of the area (a change of plan).
    """
    if superuser:
        return None
    if role == Role.DEPARTMENT:
        if action == STOP:
            return _("部门不能终止帮扶措施，请与县级审定人员联系。")
        return None if own_department else _("该任务不属于您的部门。")
    if role == Role.COUNTY_APPROVER:
        return area_error(covered=covered)
    if role == Role.TOWNSHIP_REVIEWER:
        if not covered:
            return area_error(covered=False)
        if action != STOP and department is not None:
            return _("该措施由「%(department)s」负责落实。") % {"department": department}
        return None
    return role_error(has_role=False)


# --- the state ----------------------------------------------------------------------------------


def waiting_error(pending_steps: Iterable[str]) -> str | None:
    """A step that waits for others: the ones not done yet."""
    pending = list(pending_steps)
    if not pending:
        return None
    return _("须待以下步骤完成：%(steps)s。") % {"steps": join_list(pending)}


def step_error(
    kind: str,
    *,
    today: dt.date,
    notice_posted: bool = False,
    notice_end: dt.date | None = None,
    open_objections: int = 0,
    pending_steps: Iterable[str] = (),
) -> str | None:
    """Why an open step of ``kind`` cannot be completed now (``None`` when it can).

    The notice step needs its notice posted and run (``notice_posted``, ``notice_end``); the
    county approval needs the procedure's other steps done (``pending_steps``: the names of
    those still waiting or open); both need no open objection.
    """
    if kind == StepKind.VILLAGE_NOTICE:
        return notice_error(
            posted=notice_posted, end_date=notice_end, today=today, open_objections=open_objections
        )
    if kind == StepKind.COUNTY_APPROVAL:
        return approval_error(pending_steps=list(pending_steps), open_objections=open_objections)
    return None


def green_channel_error(*, status: str, green_risk: bool) -> str | None:
    """``green_risk``: one of the case's risk types allows the green channel (disaster, accident)."""
    if status != CaseStatus.IDENTIFYING:
        return _("只有识别中的案件可走绿色通道。")
    if not green_risk:
        return _("只有自然灾害、意外事故等风险可走绿色通道。")
    return None


def secure_tracking_error(*, no_labour_safety_net: bool) -> str | None:
    if not no_labour_safety_net:
        return _("只有整户无劳动能力兜底保障户转为兜底保障跟踪。")
    return None


def planning_error(*, status: str, status_label: str, statuses: Iterable[str]) -> str | None:
    """A plan is set or changed only while the case is in one of ``statuses``."""
    if status not in statuses:
        return _("案件当前状态为「%(status)s」，不能制定或调整帮扶计划。") % {"status": status_label}
    return None
