"""django-filter FilterSets for the workflow's lists (clues, cases, visits, measures), shared
by the API and the HTML lists.

Conditions are on indexed columns (status, area code, due dates, visit date) or foreign keys.
"Overdue" is not stored: ``overdue=true`` selects the identification cases whose due date has
passed, the same rule as :func:`monitoring.rules.deadlines.deadline` (late from the day after the
due date, whatever the calendar).
"""

from __future__ import annotations

import django_filters as filters
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from households.filters import (
    MAX_ID,
    AreaFilter,
    IdFilter,
    IdNumberNotInQuery,
    SearchFilter,
    StatusFilter,
    TownshipFilter,
    VillageFilter,
)
from households.models import MonitoringCategory
from monitoring.models import (
    OPEN_CASE_STATUSES,
    AssistanceMeasure,
    CaseStatus,
    Channel,
    Clue,
    ClueStatus,
    FindingStatus,
    MeasureStatus,
    MonitoringCase,
    QualityFinding,
    ReviewRuleCode,
    Visit,
)

#: The largest identification score a filter takes.
SCORE_MAX = 100000
CLUE_SORTS = (("score", _("按识别评分从高到低")),)

#: Case statuses whose identification deadline (``due_date``) is running.
IDENTIFICATION_STATUSES = (CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL)


class DepartmentFilter(filters.CharFilter):
    """``department=<id or code>``."""

    def __init__(self, *args, path: str = "department", **kwargs):
        self.path = path
        kwargs.setdefault("label", _("部门（编号或代码）"))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        value = (value or "").strip()
        if not value:
            return qs
        if value.isascii() and value.isdigit():
            number = int(value)
            return qs.filter(**{f"{self.path}_id": number}) if number <= MAX_ID else qs.none()
        return qs.filter(**{f"{self.path}__code": value})


class ClueFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(distinct=False, choices=ClueStatus.choices, label=_("处理状态"))
    channel = filters.MultipleChoiceFilter(distinct=False, choices=Channel.choices, label=_("线索来源"))
    rule = filters.MultipleChoiceFilter(
        field_name="rule_code", distinct=False, choices=ReviewRuleCode.choices, label=_("预警规则")
    )
    area = AreaFilter(field_name="area_code")
    township = TownshipFilter(field_name="area_code")
    village = VillageFilter(field_name="area_code")
    household = IdFilter(field_name="household_id", label=_("农户（编号）"))
    case = IdFilter(field_name="case_id", label=_("案件（编号）"))
    department = DepartmentFilter()
    matched = filters.BooleanFilter(
        field_name="household", lookup_expr="isnull", exclude=True, label=_("已匹配农户")
    )
    found_from = filters.DateFilter(field_name="found_date", lookup_expr="gte", label=_("发现日期起"))
    found_to = filters.DateFilter(field_name="found_date", lookup_expr="lte", label=_("发现日期止"))
    score_min = filters.NumberFilter(
        field_name="household__score__score",
        lookup_expr="gte",
        label=_("识别评分不低于"),
        min_value=0,
        max_value=SCORE_MAX,
        max_digits=8,
        decimal_places=2,
    )
    score_max = filters.NumberFilter(
        field_name="household__score__score",
        lookup_expr="lte",
        label=_("识别评分不高于"),
        min_value=0,
        max_value=SCORE_MAX,
        max_digits=8,
        decimal_places=2,
    )
    sort = filters.ChoiceFilter(
        choices=CLUE_SORTS, method="filter_sort", label=_("排序"), empty_label=_("按发现日期")
    )

    class Meta:
        model = Clue
        fields: list[str] = []

    def filter_sort(self, qs, name, value):
        return self.sort_by_score(qs) if value == "score" else qs

    @staticmethod
    def sort_by_score(qs):
        """Highest score first; clues without a scored household last."""
        return qs.order_by(F("household__score__score").desc(nulls_last=True), "found_date", "id")


class CaseFilter(IdNumberNotInQuery, filters.FilterSet):
    search = SearchFilter(household_path="household")
    status = filters.MultipleChoiceFilter(distinct=False, choices=CaseStatus.choices, label=_("案件状态"))
    open = filters.BooleanFilter(method="filter_open", label=_("在办"))
    area = AreaFilter(field_name="area_code")
    township = TownshipFilter(field_name="area_code")
    village = VillageFilter(field_name="area_code")
    household = IdFilter(field_name="household_id", label=_("农户（编号）"))
    category = StatusFilter(choices=MonitoringCategory.choices, label=_("监测对象类别"))
    green_channel = filters.BooleanFilter(label=_("绿色通道"))
    due_from = filters.DateFilter(field_name="due_date", lookup_expr="gte", label=_("识别办结期限起"))
    due_to = filters.DateFilter(field_name="due_date", lookup_expr="lte", label=_("识别办结期限止"))
    overdue = filters.BooleanFilter(method="filter_overdue", label=_("识别超期"))
    visit_due_to = filters.DateFilter(
        field_name="next_visit_due", lookup_expr="lte", label=_("下次走访期限止")
    )

    class Meta:
        model = MonitoringCase
        fields: list[str] = []

    def filter_open(self, qs, name, value):
        if value is None:
            return qs
        return (
            qs.filter(status__in=OPEN_CASE_STATUSES) if value else qs.exclude(status__in=OPEN_CASE_STATUSES)
        )

    def filter_overdue(self, qs, name, value):
        if value is None:
            return qs
        late = {"status__in": IDENTIFICATION_STATUSES, "due_date__lt": timezone.localdate()}
        return qs.filter(**late) if value else qs.exclude(**late)


class VisitFilter(filters.FilterSet):
    area = AreaFilter(field_name="area_code")
    household = IdFilter(field_name="household_id", label=_("农户（编号）"))
    case = IdFilter(field_name="case_id", label=_("案件（编号）"))
    helper = IdFilter(field_name="helper_id", label=_("帮扶责任人（编号）"))
    visited_from = filters.DateFilter(field_name="visited_on", lookup_expr="gte", label=_("走访日期起"))
    visited_to = filters.DateFilter(field_name="visited_on", lookup_expr="lte", label=_("走访日期止"))

    class Meta:
        model = Visit
        fields: list[str] = []


class MeasureFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(distinct=False, choices=MeasureStatus.choices, label=_("落实状态"))
    department = DepartmentFilter()
    case = IdFilter(field_name="case_id", label=_("案件（编号）"))
    area = AreaFilter(field_name="case__area_code")
    measure = filters.CharFilter(field_name="measure__code", label=_("措施代码"))
    category = filters.CharFilter(field_name="measure__category__code", label=_("措施类别代码"))

    class Meta:
        model = AssistanceMeasure
        fields: list[str] = []


class QualityFindingFilter(filters.FilterSet):
    rule = filters.CharFilter(field_name="rule__code", max_length=20, label=_("规则编号"))
    status = filters.MultipleChoiceFilter(distinct=False, choices=FindingStatus.choices, label=_("状态"))
    area = AreaFilter(field_name="area_code")
    township = TownshipFilter(field_name="area_code")
    village = VillageFilter(field_name="area_code")
    household = IdFilter(field_name="household_id", label=_("农户（编号）"))

    class Meta:
        model = QualityFinding
        fields: list[str] = []
