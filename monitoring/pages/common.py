"""What the workflow's pages share: access, deadlines for display, labels, paging, errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy

# The pages' access rule is the accounts app's (the registry's pages share it).
from accounts.access import PAGE_ROLES as PAGE_ROLES
from accounts.access import staff_page as staff_page
from accounts.models import Role
from config.forms import error_status as error_status
from config.forms import show_error as show_error
from monitoring.county import calendar_for, identification_limit, settings_for
from monitoring.models import (
    CaseStatus,
    ClueStatus,
    MeasureStatus,
    MonitoringCase,
    ObjectionStatus,
    RiskType,
    StepStatus,
)
from monitoring.rules import deadlines

PAGE_SIZE = 25

STEP_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)
TRIAGE_ROLES = (Role.COUNTY_APPROVER,)


# --- deadlines, for display --------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A :class:`monitoring.rules.deadlines.Deadline` shaped for a template."""

    state: str
    due: dt.date | None
    days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.state == deadlines.State.OVERDUE

    @property
    def days_late(self) -> int:
        return -(self.days_left or 0)


def due(deadline: deadlines.Deadline) -> Due:
    return Due(str(deadline.state), deadline.due, deadline.days_left)


class Clock:
    """``now`` with each county's settings and calendar read once (not once per row)."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.today = deadlines.local_date(now)
        self._county: dict[str, tuple] = {}

    def county(self, area_code: str):
        key = area_code[:6]
        if key not in self._county:
            county_settings = settings_for(area_code)
            self._county[key] = (county_settings, calendar_for(area_code, county_settings))
        return self._county[key]

    def settings(self, area_code: str):
        return self.county(area_code)[0]

    def identification_limit(self, area_code: str) -> int:
        """Days a new case of this county would have (its chosen procedure's limit), read once."""
        key = ("limit", area_code[:6])
        if key not in self._county:
            self._county[key] = identification_limit(self.settings(area_code))[0]
        return self._county[key]

    def deadline(self, due_date, area_code: str, *, done: bool = False, step: bool = False) -> Due:
        county_settings, cal = self.county(area_code)
        soon = county_settings.due_soon_days
        return due(
            deadlines.deadline(
                due_date,
                now=self.now,
                done=done,
                due_soon_days=min(soon, 1) if step else soon,
                calendar=cal,
            )
        )


# --- labels ------------------------------------------------------------------------------------

STATUS_LABELS = {
    "case": CaseStatus,
    "step": StepStatus,
    "clue": ClueStatus,
    "measure": MeasureStatus,
    "objection": ObjectionStatus,
}

OBJECT_LABELS = {
    "case": gettext_lazy("案件"),
    "step": gettext_lazy("步骤"),
    "clue": gettext_lazy("线索"),
    "measure": gettext_lazy("帮扶措施"),
    "objection": gettext_lazy("异议"),
}

ACTION_LABELS = {
    "open": gettext_lazy("启动识别"),
    "score": gettext_lazy("识别评分"),
    "start_identification_procedure": gettext_lazy("开始识别程序"),
    "start_exit_procedure": gettext_lazy("开始风险消除程序"),
    "unlock": gettext_lazy("开始办理"),
    "complete": gettext_lazy("办结"),
    "reject": gettext_lazy("不予通过"),
    "return": gettext_lazy("退回"),
    "reopen": gettext_lazy("重新办理"),
    "cancel": gettext_lazy("终止"),
    "post_notice": gettext_lazy("发布公示"),
    "green_channel": gettext_lazy("绿色通道先行帮扶"),
    "identify": gettext_lazy("审定纳入监测"),
    "secure_tracking": gettext_lazy("转为兜底保障跟踪"),
    "start_exit": gettext_lazy("提出风险消除"),
    "exit_rejected": gettext_lazy("风险消除未通过"),
    "exit_rejected_secured": gettext_lazy("风险消除未通过"),
    "eliminate": gettext_lazy("风险消除"),
    "raise": gettext_lazy("登记异议"),
    "resolve": gettext_lazy("处理异议"),
    "objection_upheld": gettext_lazy("异议成立"),
    "receive": gettext_lazy("接收线索"),
    "match": gettext_lazy("匹配农户"),
    "attach": gettext_lazy("并入案件"),
    "open_case": gettext_lazy("启动识别"),
    "dismiss": gettext_lazy("排除"),
    "plan": gettext_lazy("列入帮扶计划"),
    "replan": gettext_lazy("调整帮扶计划"),
    "start": gettext_lazy("开始实施"),
    "stop": gettext_lazy("终止"),
    "record_objection": gettext_lazy("登记异议"),
    "resolve_objection": gettext_lazy("处理异议"),
    "propose_exit": gettext_lazy("提出风险消除"),
    "set_plan": gettext_lazy("制定帮扶计划"),
    "measure_start": gettext_lazy("开始实施帮扶措施"),
    "measure_complete": gettext_lazy("帮扶措施已落实"),
    "measure_stop": gettext_lazy("终止帮扶措施"),
}


def status_label(object_type: str, status: str) -> str:
    choices = STATUS_LABELS.get(object_type)
    if not status:
        return ""
    if choices is not None and status in choices.values:
        return str(choices(status).label)
    return status


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def risk_type_names(codes) -> list[str]:
    """The names of the risk types ``codes``, in the order given (an unknown code as is), so a
    step's record reads "因病", not "01"."""
    codes = [str(code) for code in codes]
    names = dict(RiskType.objects.filter(code__in=codes).values_list("code", "name"))
    return [names.get(code, code) for code in codes]


def user_name(user) -> str:
    if user is None:
        return str(gettext_lazy("系统"))
    return user.full_name or user.username


def load_case(request, pk: int) -> MonitoringCase:
    """The case ``pk`` if it is in the user's rows (else a 404), with what its pages show."""
    queryset = MonitoringCase.objects.for_user(request.user).select_related(
        "household__head", "household__village__parent", "procedure", "exit_procedure"
    )
    return get_object_or_404(queryset.prefetch_related("risk_types"), pk=pk)


# --- paging and errors ---------------------------------------------------------------------------


def paginate(request, queryset, per_page: int = PAGE_SIZE):
    """The requested page (a bad or too large number gives the nearest page)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
