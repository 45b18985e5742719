"""django-filter FilterSets for the registry, shared by the API and the HTML lists.

Every filter is one indexed condition (or a semi-join on an indexed column), so a list stays
cheap on a county of 300,000 households:

* ``area``: a division-code prefix (``1307271002``…) or a full 12-digit code, turned into the
  area's prefix — ``area_code LIKE 'prefix%'`` on the indexed column, *within* the caller's
  ``for_user`` scope (it narrows, never widens);
* ``township``/``village``: a township or village of the caller's areas, picked by name from a
  list (the lists' selects), the same code range as ``area`` for that area;
* ``search``: one box for an ID number (exact, normalised), a household number (prefix) or a
  person's name (exact: the name index serves equality; a prefix search would need a
  ``varchar_pattern_ops`` index on PostgreSQL).
"""

from __future__ import annotations

import re
from functools import reduce
from operator import or_

import django_filters as filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q
from django.forms.models import ModelChoiceIterator
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import Area, AreaLevel, Role

from . import idnumber
from .models import (
    Disability,
    HealthStatus,
    Household,
    HouseholdType,
    LabourCapacity,
    LowIncomeStatus,
    MonitoringCategory,
    MonitoringStatus,
    Person,
    Relation,
    Sex,
)

_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
AREA_CODE_VALIDATOR = RegexValidator(r"^\d{2,12}$", _("区划代码须为2至12位数字。"))
#: The query-string value that stands for "no status" (the empty string in the database).
NONE = "none"


def area_prefix(code: str) -> str:
    """A code prefix from what a person typed: a prefix as is, a full 12-digit area code as
    its area's prefix (``130727100000`` → ``130727100``)."""
    code = (code or "").strip()
    if len(code) == 12:
        area = Area.objects.filter(code=code).only("code", "level").first()
        if area is not None:
            return area.prefix
    return code


def code_range_q(field: str, prefixes) -> Q:
    """Rows whose 12-digit ``field`` starts with one of ``prefixes``, as ranges of codes
    (``130727100`` → ``130727100000``–``130727100999``).

    The same rows as ``area_prefix_q``'s ``LIKE 'prefix%'``, but a range is something a
    composite index such as ``(area_code, number)`` can seek to under any collation, so a
    township's list reads its own rows in order instead of walking past the rest of the county.
    """
    if not prefixes:
        return Q(pk__in=[])
    return reduce(
        or_, (Q(**{f"{field}__gte": p.ljust(12, "0"), f"{field}__lte": p.ljust(12, "9")}) for p in prefixes)
    )


def with_scope_range(queryset, user, field: str = "area_code"):
    """``queryset`` (already ``for_user``) with the user's area scope also written as code ranges.

    A hint for the planner, never a change of rows: not for helpers (who also see the
    households assigned to them, wherever they are) nor for users who see everything.
    """
    if not (user.is_authenticated and user.is_active) or user.sees_everything or user.role == Role.HELPER:
        return queryset
    return queryset.filter(code_range_q(field, user.scope_prefixes()))


def search_kind(term: str) -> tuple[str, str]:
    """What a search term looks like: ``("id_number", normalised)``, ``("number", term)`` for
    ASCII letters and digits (a household number or its beginning), else ``("name", term)``."""
    term = (term or "").strip()
    normalised = idnumber.normalize(term).upper()
    if _ID_NUMBER.match(normalised):
        return "id_number", normalised
    if term.isascii() and term.isalnum():
        return "number", term
    return "name", term


def household_search_q(term: str, *, household_path: str = "") -> Q:
    """Households (or rows of a household, through ``household_path``) matching ``term``."""
    kind, value = search_kind(term)
    if not value:
        return Q()
    id_field = f"{household_path}_id" if household_path else "id"
    if kind == "number":
        return Q(**{f"{household_path}{'__' if household_path else ''}number__startswith": value})
    people = Person.objects.filter(**{kind: value}).values("household_id")
    return Q(**{f"{id_field}__in": people})


#: The largest primary key (``BigAutoField``); a larger number is refused, not sent to the database.
MAX_ID = 2**63 - 1


class IdFilter(filters.NumberFilter):
    """A primary key: an integer, no lookup of the row (which could reveal it exists)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class AreaFilter(filters.CharFilter):
    """``area=<code prefix or 12-digit code>`` on an area-code column."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [AREA_CODE_VALIDATOR])
        kwargs.setdefault("label", _("区划代码（前缀）"))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        prefix = area_prefix(value)
        return qs.filter(
            Q(**{f"{self.field_name}__startswith": prefix}) & code_range_q(self.field_name, [prefix])
        )


def village_choices(user, township_id=None):
    """The villages of the user's areas (in one township if ``township_id`` is given), by code."""
    if user is None or not user.is_authenticated:
        return Area.objects.none()
    villages = Area.objects.for_user(user).filter(level=AreaLevel.VILLAGE).select_related("parent")
    if township_id is not None:
        villages = villages.filter(parent_id=township_id)
    return villages.order_by("code")


def township_choices(user):
    """The townships the user's villages lie in (a village cadre's own township), by code."""
    if user is None or not user.is_authenticated:
        return Area.objects.none()
    parents = village_choices(user).values("parent_id")
    return Area.objects.filter(level=AreaLevel.TOWNSHIP, pk__in=parents).order_by("code")


def selected_township(request) -> int | None:
    """The township picked in the request's query (``township=<id>``), if it is a number."""
    raw = (request.GET.get("township") or "").strip() if request is not None else ""
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID else None


#: An area id that is a number but none of the caller's areas: it matches no rows.
def _options(rows) -> str:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((pk, " selected" if chosen else "", label) for pk, label, chosen in rows),
    )


def area_options(villages, *, township: str = "", village: str = "") -> dict:
    """The township and village ``<option>`` elements of a list page, from the user's villages
    (with their township as ``parent``) in code order: ``townships`` and ``villages`` as HTML
    (escaped), and ``several_townships`` / ``several_villages`` (whether to offer a choice).
    Built once here: nested template loops over a county's villages, each number localised,
    cost a county-wide list page most of its time. Villages are limited to the chosen township
    and named with their township when several are shown."""
    townships: dict[int, str] = {}
    for v in villages:
        townships.setdefault(v.parent_id, v.parent.name if v.parent else "")
    several = len(townships) > 1
    shown = [v for v in villages if not township or str(v.parent_id) == township]
    return {
        "several_townships": several,
        "several_villages": len(villages) > 1,
        "townships": _options((pk, name, str(pk) == township) for pk, name in townships.items()),
        "villages": _options(
            (
                v.pk,
                f"{v.parent.name} {v.name}" if several and not township and v.parent else v.name,
                str(v.pk) == village,
            )
            for v in shown
        ),
    }


NOT_MINE = object()


class _AreaChoiceIterator(ModelChoiceIterator):
    """The options as ``(id, name)`` read in one ``values_list`` query: a county's eight
    hundred villages render without building a model object for each."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self.queryset.values_list("pk", "name")


class _AreaChoiceField(forms.ModelChoiceField):
    """A whole number that is not one of the choices is "none of mine" (no rows, as ``area``
    outside the caller's areas and an unknown household id give), not an error; text still is."""

    iterator = _AreaChoiceIterator

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError:
            text = str(value).strip()
            # any whole number the schema allows (also one past the largest key): no rows
            if text.isascii() and text.isdigit() and int(text) >= 1:
                return NOT_MINE
            raise


class _AreaChoiceFilter(filters.ModelChoiceFilter):
    """An area picked by name; rows whose ``field_name`` (an area code) lies in it, as a code
    range (see :func:`code_range_q`). Choices are the caller's own areas, so it narrows only."""

    field_class = _AreaChoiceField

    def filter(self, qs, value):
        if value is NOT_MINE:
            return qs.none()
        if not value:
            return qs
        return qs.filter(code_range_q(self.field_name, [value.prefix]))


class TownshipFilter(_AreaChoiceFilter):
    """``township=<id>`` of a township of the caller's areas. Changing it reloads the village
    list of the same form (htmx: the list page is asked again and its village select kept)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", lambda request: township_choices(getattr(request, "user", None)))
        kwargs.setdefault("label", _("乡镇"))
        kwargs.setdefault(
            "widget",
            forms.Select(
                attrs={
                    "hx-get": "",
                    "hx-trigger": "change",
                    "hx-include": "closest form",
                    "hx-params": "not village,page,search,csrfmiddlewaretoken",
                    "hx-select": "#id_village",
                    "hx-target": "#id_village",
                    "hx-swap": "outerHTML",
                }
            ),
        )
        super().__init__(*args, **kwargs)


class VillageFilter(_AreaChoiceFilter):
    """``village=<id>`` of a village of the caller's areas, in the township picked (if one is)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "queryset",
            lambda request: village_choices(getattr(request, "user", None), selected_township(request)),
        )
        kwargs.setdefault("label", _("村"))
        super().__init__(*args, **kwargs)


class StatusFilter(filters.MultipleChoiceFilter):
    """Several values of a choice field whose empty value is spelt ``none``.

    Like every multiple-choice filter here it filters a column of the row itself, so it asks
    for no ``DISTINCT`` (django-filter's default, which would sort the whole county)."""

    def __init__(self, *args, choices=(), **kwargs):
        choices = [(NONE if value == "" else value, label) for value, label in choices]
        kwargs.setdefault("distinct", False)
        super().__init__(*args, choices=choices, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": ["" if v == NONE else v for v in value]})


class SearchFilter(filters.CharFilter):
    """``search=``: ID number, household number or name (see :func:`household_search_q`)."""

    def __init__(self, *args, household_path: str = "", **kwargs):
        self.household_path = household_path
        kwargs.setdefault("label", _("身份证号、户编号或姓名"))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not (value or "").strip():
            return qs
        return qs.filter(household_search_q(value, household_path=self.household_path))


class IdNumberNotInQuery:
    """A FilterSet mixin: an ID number in the request's query string is refused (a 400 through
    the API), since a query string ends up in access logs; ``POST …/search/`` takes it in the
    body instead (see :mod:`households.search_terms`)."""

    #: fields refused in a query string whatever they hold, and those refused when they hold
    #: something that reads as an ID number
    id_fields: tuple[str, ...] = ()
    search_fields: tuple[str, ...] = ("search",)

    def is_valid(self):
        valid = super().is_valid()
        query = getattr(self.request, "GET", None) or {}
        for name in (*self.id_fields, *self.search_fields):
            value = query.get(name)
            if not value or (name not in self.id_fields and search_kind(value)[0] != "id_number"):
                continue
            valid = False
            if name not in self.form.errors:
                self.form.add_error(
                    name,
                    forms.ValidationError(
                        _("身份证号不能放在网址中：请用 POST %(path)s 在请求正文中查找。"),
                        code="id_number_in_url",
                        params={"path": _search_path(self.request)},
                    ),
                )
        return valid


def _search_path(request) -> str:
    """The POST search of the list asked (``/api/v1/people/`` → ``/api/v1/people/search/``)."""
    path = getattr(request, "path", "") or ""
    return path if path.endswith("/search/") else f"{path.rstrip('/')}/search/"


class HouseholdFilter(IdNumberNotInQuery, filters.FilterSet):
    search = SearchFilter()
    number = filters.CharFilter(field_name="number", lookup_expr="startswith", label=_("户编号（前缀）"))
    area = AreaFilter(field_name="area_code")
    township = TownshipFilter(field_name="area_code")
    village = IdFilter(field_name="village_id", label=_("村（编号）"))
    household_type = filters.ChoiceFilter(choices=HouseholdType.choices, label=_("户类型"))
    monitoring_status = StatusFilter(choices=MonitoringStatus.choices, label=_("监测状态"))
    monitoring_category = StatusFilter(choices=MonitoringCategory.choices, label=_("监测对象类别"))
    low_income_status = StatusFilter(choices=LowIncomeStatus.choices, label=_("低收入类别"))
    low_income = filters.BooleanFilter(method="filter_low_income", label=_("低收入群体"))
    no_labour_safety_net = filters.BooleanFilter(label=_("整户无劳动能力兜底保障户"))

    class Meta:
        model = Household
        fields: list[str] = []

    def filter_low_income(self, qs, name, value):
        if value is None:
            return qs
        return qs.exclude(low_income_status="") if value else qs.filter(low_income_status="")


class PersonFilter(IdNumberNotInQuery, filters.FilterSet):
    id_fields = ("id_number",)

    search = filters.CharFilter(method="filter_search", label=_("身份证号、户编号或姓名"))
    name = filters.CharFilter(field_name="name", label=_("姓名"))
    id_number = filters.CharFilter(method="filter_id_number", label=_("公民身份号码"))
    household = IdFilter(field_name="household_id", label=_("农户（编号）"))
    area = AreaFilter(field_name="household__area_code")
    sex = filters.ChoiceFilter(choices=Sex.choices, label=_("性别"))
    relation = filters.MultipleChoiceFilter(distinct=False, choices=Relation.choices, label=_("与户主关系"))
    labour_capacity = filters.MultipleChoiceFilter(
        distinct=False, choices=LabourCapacity.choices, label=_("劳动技能")
    )
    health_status = filters.MultipleChoiceFilter(
        distinct=False, choices=HealthStatus.choices, label=_("健康状况")
    )
    disability = StatusFilter(choices=Disability.choices, label=_("残疾情况"))
    is_resident = filters.BooleanFilter(label=_("家庭常住人口"))

    class Meta:
        model = Person
        fields: list[str] = []

    def filter_search(self, qs, name, value):
        kind, term = search_kind(value)
        if not term:
            return qs
        if kind == "number":
            return qs.filter(household__number__startswith=term)
        return qs.filter(**{kind: term})

    def filter_id_number(self, qs, name, value):
        number = idnumber.normalize(value).upper()
        return qs.filter(id_number=number) if number else qs
