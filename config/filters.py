"""The API's filter backend: django-filter's, strict about the query string it is given."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions

BOOLEAN_VALUES = frozenset({"true", "false"})


def query_errors(params, base_filters: dict) -> dict[str, str]:
    """What is wrong with the filter parameters of a query string, by parameter: a value given
    twice, an empty value (leave a filter out to not filter), a boolean that is not
    ``true``/``false``. django-filter itself would quietly ignore each of these."""
    errors = {}
    for name, f in base_filters.items():
        values = params.getlist(name)
        if not values:
            continue
        if len(values) > 1 and not isinstance(f, filters.MultipleChoiceFilter | filters.BaseCSVFilter):
            errors[name] = _("只能给出一个值。")
        elif any(v == "" for v in values):
            errors[name] = _("不能为空；不按此项筛选时请省略该参数。")
        elif isinstance(f, filters.BooleanFilter) and values[0] not in BOOLEAN_VALUES:
            errors[name] = _("须为 true 或 false。")
    return errors


class StrictFilterBackend(DjangoFilterBackend):
    """A malformed filter parameter is a 400 naming it, never silently "no filter"."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            errors = query_errors(request.query_params, filterset_class.base_filters)
            if errors:
                raise exceptions.ValidationError(errors)
        return super().filter_queryset(request, queryset, view)
