"""What a ledger page, export or API call is asked for: parsed once, for every channel."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from households.filters import AREA_CODE_VALIDATOR, MAX_ID, NONE, area_prefix, village_choices
from households.models import HouseholdType, LowIncomeStatus, MonitoringCategory, MonitoringStatus
from monitoring.models import CaseStatus, ClueStatus
from monitoring.rules.deadlines import local_date
from reports.columns import ListKind, columns_of, json_value


class CountsQuery(forms.Form):
    """``area`` (an area-code prefix or a 12-digit code, only ever narrowing the caller's own
    scope) and ``year`` (of the risk eliminations; this year by default)."""

    area = forms.CharField(label=_("区域"), required=False, max_length=12, validators=[AREA_CODE_VALIDATOR])
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2015, max_value=2100)

    def selection(self) -> dict:
        raw = (self.cleaned_data.get("area") or "").strip()
        return {
            "area": area_prefix(raw) if raw else "",
            "year": self.cleaned_data.get("year") or local_date(timezone.now()).year,
        }

    @staticmethod
    def default_selection() -> dict:
        """What an invalid query falls back to (its errors are shown): everything, this year."""
        return {"area": "", "year": local_date(timezone.now()).year}

    def error_messages(self) -> dict[str, list[str]]:
        return {name: [str(m) for m in messages] for name, messages in self.errors.items()}


# --- the ledger lists (pages, API, exports) --------------------------------------------------

#: The earliest date a ledger can be asked "as of".
EARLIEST_AS_OF = dt.date(2015, 1, 1)
DATE_FORMATS = ["%Y-%m-%d"]
BOOLEAN_CHOICES = [("true", _("是")), ("false", _("否"))]
RISK_CODE_VALIDATOR = RegexValidator(r"^[0-9A-Za-z]{1,8}$", _("风险类型代码须为1至8位字母或数字。"))


def _with_none(choices) -> list[tuple[str, str]]:
    """A choice field's choices with its empty value spelt ``none`` (as the registry's filters)."""
    return [("", _("全部"))] + [(NONE if value == "" else value, label) for value, label in choices]


def _sort_choices() -> list[tuple[str, str]]:
    keys = sorted({c.key for kind in ListKind for c in columns_of(kind) if c.sortable})
    return [("", "")] + [(f"{sign}{key}", f"{sign}{key}") for key in keys for sign in ("", "-")]


#: which filters apply to which lists (a filter given for a list it does not apply to is an error)
HOUSEHOLD_FILTERS = (
    "household_type",
    "monitoring_status",
    "monitoring_category",
    "low_income_status",
    "low_income",
    "risk_type",
    "identified_from",
    "identified_to",
    "eliminated_from",
    "eliminated_to",
)
APPLIES = {
    **{kind: HOUSEHOLD_FILTERS for kind in ListKind if kind not in (ListKind.EARLY_WARNING, ListKind.CASES)},
    ListKind.EARLY_WARNING: (*HOUSEHOLD_FILTERS, "found_from", "found_to", "clue_status"),
    ListKind.CASES: (*HOUSEHOLD_FILTERS, "found_from", "found_to", "case_status"),
}
COMMON_FIELDS = ("area", "township", "village", "sort", "as_of")


class AreaIndex:
    """The reader's townships and villages, read once (one query): the options of the page's
    selects, the names of the rows' areas, and the prefix of a township or village picked by id."""

    def __init__(self, user):
        rows = list(
            village_choices(user).values_list(
                "pk", "code", "name", "parent_id", "parent__code", "parent__name"
            )
        )
        self.villages = [
            {"id": pk, "code": code, "name": name, "township_id": tid} for pk, code, name, tid, _c, _n in rows
        ]
        townships = {tid: (tcode, tname) for _p, _c, _n, tid, tcode, tname in rows if tid}
        self.townships = [
            {"id": tid, "code": code, "name": name}
            for tid, (code, name) in sorted(townships.items(), key=lambda t: t[1])
        ]
        self.names = {code: name for _p, code, name, *_rest in rows}
        self.names.update({code: name for code, name in townships.values()})
        self._prefix = {("village", pk): code for pk, code, *_rest in rows}
        self._prefix.update({("township", tid): code[:9] for tid, (code, _n) in townships.items()})

    def prefix(self, level: str, pk: int) -> str | None:
        return self._prefix.get((level, pk))


def check_as_of(value, *, now, supported: bool = True):
    """An ``as_of`` date: not before 2015, not in the future, and only for the lists kept over
    time (the five ledgers; the case list is a list of cases as they are now)."""
    if value is None:
        return None
    if value < EARLIEST_AS_OF:
        raise forms.ValidationError(_("截至日期不能早于2015年1月1日。"), code="too_early")
    if value > local_date(now):
        raise forms.ValidationError(_("截至日期不能晚于今天。"), code="future")
    if not supported:
        raise forms.ValidationError(_("案件列表只有当前的状态，不能按过去的日期查看：请不填截至日期。"), code="not_kept")
    return value


class LedgerCountsQuery(CountsQuery):
    """The counts' query with ``as_of`` (the five ledgers' counts as they stood that day)."""

    as_of = forms.DateField(label=_("截至日期"), required=False, input_formats=["%Y-%m-%d"])

    def clean_as_of(self):
        return check_as_of(self.cleaned_data.get("as_of"), now=timezone.now())

    def selection(self) -> dict:
        selection = super().selection()
        if self.cleaned_data.get("as_of"):
            selection["as_of"] = self.cleaned_data["as_of"]
        return selection


class LedgerQuery(forms.Form):
    """The filters of a ledger list (and of the case list), for the page, the API and an export.

    ``area`` narrows like the counts' query; ``township`` / ``village`` are ids of the reader's
    own areas (another id gives no rows, as everywhere else); ``as_of`` asks for the ledger as it
    stood at the end of a past day. :meth:`selection` is the normalised query: the same filters
    always give the same dictionary (an export job's parameters)."""

    area = forms.CharField(label=_("区域"), required=False, max_length=12, validators=[AREA_CODE_VALIDATOR])
    township = forms.IntegerField(label=_("乡镇"), required=False, min_value=1, max_value=MAX_ID)
    village = forms.IntegerField(label=_("村"), required=False, min_value=1, max_value=MAX_ID)
    household_type = forms.ChoiceField(
        label=_("户类型"), required=False, choices=[("", _("全部")), *HouseholdType.choices]
    )
    monitoring_status = forms.ChoiceField(
        label=_("监测状态"), required=False, choices=_with_none(MonitoringStatus.choices)
    )
    monitoring_category = forms.ChoiceField(
        label=_("监测对象类别"), required=False, choices=_with_none(MonitoringCategory.choices)
    )
    low_income_status = forms.ChoiceField(
        label=_("低收入类别"), required=False, choices=_with_none(LowIncomeStatus.choices)
    )
    low_income = forms.ChoiceField(
        label=_("低收入群体"), required=False, choices=[("", _("全部")), *BOOLEAN_CHOICES]
    )
    risk_type = forms.CharField(
        label=_("风险类型"), required=False, max_length=8, validators=[RISK_CODE_VALIDATOR]
    )
    identified_from = forms.DateField(
        label=_("识别监测时间（起）"), required=False, input_formats=DATE_FORMATS
    )
    identified_to = forms.DateField(label=_("识别监测时间（止）"), required=False, input_formats=DATE_FORMATS)
    eliminated_from = forms.DateField(
        label=_("风险消除时间（起）"), required=False, input_formats=DATE_FORMATS
    )
    eliminated_to = forms.DateField(label=_("风险消除时间（止）"), required=False, input_formats=DATE_FORMATS)
    found_from = forms.DateField(label=_("发现风险日期（起）"), required=False, input_formats=DATE_FORMATS)
    found_to = forms.DateField(label=_("发现风险日期（止）"), required=False, input_formats=DATE_FORMATS)
    clue_status = forms.ChoiceField(
        label=_("处理状态"), required=False, choices=[("", _("全部")), *ClueStatus.choices]
    )
    case_status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部")), *CaseStatus.choices]
    )
    sort = forms.ChoiceField(label=_("排序"), required=False, choices=_sort_choices)
    as_of = forms.DateField(label=_("截至日期"), required=False, input_formats=DATE_FORMATS)

    def __init__(self, data=None, *, kind: ListKind | str, areas: AreaIndex, now=None):
        super().__init__(data)
        self.kind = ListKind(kind)
        self.areas = areas
        self.now = now or timezone.now()

    def clean_as_of(self):
        return check_as_of(
            self.cleaned_data.get("as_of"), now=self.now, supported=self.kind != ListKind.CASES
        )

    def clean(self):
        cleaned = super().clean()
        applies = set(APPLIES[self.kind]) | set(COMMON_FIELDS)
        for name in self.fields:
            if name not in applies and self.data.get(name) not in (None, ""):
                self.add_error(
                    name, forms.ValidationError(_("此列表没有这个筛选条件。"), code="not_applicable")
                )
        sort = cleaned.get("sort") or ""
        if sort and sort.lstrip("-") not in {c.key for c in columns_of(self.kind) if c.sortable}:
            self.add_error("sort", forms.ValidationError(_("此列表不能按这一列排序。"), code="sort"))
        for start, end in (
            ("identified_from", "identified_to"),
            ("eliminated_from", "eliminated_to"),
            ("found_from", "found_to"),
        ):
            if cleaned.get(start) and cleaned.get(end) and cleaned[start] > cleaned[end]:
                self.add_error(end, forms.ValidationError(_("结束日期不能早于开始日期。"), code="range"))
        return cleaned

    def selection(self) -> dict:
        """The normalised query: only the filters given, dates as ISO strings, plus the area
        prefix they come to (``area``, empty for all of the reader's areas) and ``none`` when a
        township or village is not the reader's."""
        data = {
            name: json_value(value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "") and name in set(APPLIES[self.kind]) | set(COMMON_FIELDS)
        }
        raw_area = data.pop("area", "")
        prefixes = [area_prefix(raw_area)] if raw_area else []
        for level in ("township", "village"):
            if level in data:
                prefix = self.areas.prefix(level, data[level])
                if prefix is None:
                    return {**data, "area": "", "none": True}
                prefixes.append(prefix)
        narrowest = max(prefixes, key=len, default="")
        if any(not narrowest.startswith(p) for p in prefixes):
            return {**data, "area": "", "none": True}
        return {**data, "area": narrowest}

    def params(self) -> dict:
        """What an export job keeps of the query: the filters as given (normalised), not the
        area they resolve to (resolved again when the job runs)."""
        return {
            name: json_value(value)
            for name, value in sorted(self.cleaned_data.items())
            if value not in (None, "") and name != "sort"
        }

    def error_messages(self) -> dict[str, list[str]]:
        return {name: [str(m) for m in messages] for name, messages in self.errors.items()}
