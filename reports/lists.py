"""The rows of the ledger lists (and the case list) for a parsed query: one place for the page,
the API and the export.

:func:`selector_kwargs` is the one place that turns a query into the ledger selectors'
arguments (``as_of``, as a date, only when it is given); :func:`list_rows` applies the other
filters and the order; :func:`counts_by_area` counts the rows by village in one ``GROUP BY``
(townships and the total are sums of it, so the list is never counted twice); :func:`read_rows`
turns ``values_list`` rows into the columns' values.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet

from accounts.models import Role
from households.filters import NONE, code_range_q, with_scope_range
from monitoring.models import Clue, MonitoringCase
from reports import selectors as ledgers
from reports.columns import Column, ListKind, columns_of, default_sort
from reports.selectors import Ledger

#: Who reads the ledger lists (pages, API, exports): village cadres for their villages,
#: township and county staff and operators for their areas (and superusers).
READER_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)


def may_read(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_role(*READER_ROLES))
    )


def selector_kwargs(selection: dict) -> dict:
    """The selectors' keyword arguments for a query: the area, and ``as_of`` only if given."""
    kwargs = {"area": selection.get("area", "")}
    if selection.get("as_of"):
        as_of = selection["as_of"]  # an ISO string in a kept selection (an export job's)
        kwargs["as_of"] = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)
    return kwargs


def _cases(*, user, area: str = "") -> QuerySet[MonitoringCase]:
    qs = with_scope_range(MonitoringCase.objects.for_user(user), user)
    return qs.filter(area_code__startswith=area).filter(code_range_q("area_code", [area])) if area else qs


def base_rows(kind: ListKind | str, *, user, selection: dict) -> QuerySet:
    """The list's rows before its filters: a ledger's selector, or the cases in scope."""
    kind = ListKind(kind)
    kwargs = selector_kwargs(selection)
    if kind == ListKind.CASES:
        return _cases(user=user, **kwargs)
    if kind == ListKind.EARLY_WARNING:
        return ledgers.ledger_clues(user=user, **kwargs)
    return ledgers.ledger_households(Ledger(kind), user=user, **kwargs)


def _choice(value: str) -> str:
    return "" if value == NONE else value


def _household_q(selection: dict, prefix: str) -> Q:
    q = Q()
    for name in ("household_type", "monitoring_status", "monitoring_category", "low_income_status"):
        if name in selection:
            q &= Q(**{f"{prefix}{name}": _choice(selection[name])})
    if "low_income" in selection:
        empty = Q(**{f"{prefix}low_income_status": ""})
        q &= ~empty if selection["low_income"] == "true" else empty
    return q


def _date_q(selection: dict, field: str, name: str) -> Q:
    q = Q()
    if f"{name}_from" in selection:
        q &= Q(**{f"{field}__gte": selection[f"{name}_from"]})
    if f"{name}_to" in selection:
        q &= Q(**{f"{field}__lte": selection[f"{name}_to"]})
    return q


def _risk_q(kind: ListKind, code: str) -> Q:
    if kind == ListKind.EARLY_WARNING:
        return Q(pk__in=Clue.objects.filter(risk_types__code=code).values("pk"))
    cases = MonitoringCase.objects.filter(risk_types__code=code)
    if kind == ListKind.CASES:
        return Q(pk__in=cases.values("pk"))
    return Q(pk__in=cases.values("household_id"))


def filtered(kind: ListKind | str, queryset: QuerySet, selection: dict) -> QuerySet:
    """``queryset`` (from :func:`base_rows`) narrowed by the selection's other filters."""
    kind = ListKind(kind)
    if selection.get("none"):
        return queryset.none()
    prefix = "" if kind not in (ListKind.EARLY_WARNING, ListKind.CASES) else "household__"
    q = _household_q(selection, prefix)
    # identification and exit dates: the case's own for the case list, else the household's
    date_prefix = "" if kind == ListKind.CASES else prefix
    q &= _date_q(selection, f"{date_prefix}identified_on", "identified")
    q &= _date_q(selection, f"{date_prefix}eliminated_on", "eliminated")
    q &= _date_q(selection, "found_date", "found")
    if "risk_type" in selection:
        q &= _risk_q(kind, selection["risk_type"])
    if "clue_status" in selection:
        q &= Q(status=selection["clue_status"])
    if "case_status" in selection:
        q &= Q(status=selection["case_status"])
    return queryset.filter(q)


def order_keys(kind: ListKind | str, sort: str = "") -> list[str]:
    """The ``order_by`` of a list: the asked column (by its source), then the list's unique
    default key, so that pages never overlap."""
    kind = ListKind(kind)
    sources = {c.key: c.source for c in columns_of(kind)}
    default = default_sort(kind)
    unique = [f"{'-' if default.startswith('-') else ''}{sources[default.lstrip('-')]}"]
    if not sort or sort == default:
        return unique
    key = sort.lstrip("-")
    sign = "-" if sort.startswith("-") else ""
    return [f"{sign}{sources[key]}", *unique]


def list_rows(kind: ListKind | str, *, user, selection: dict) -> QuerySet:
    """The list's rows, filtered and ordered (not yet read: see :func:`read_rows`)."""
    rows = filtered(kind, base_rows(kind, user=user, selection=selection), selection)
    return rows.order_by(*order_keys(kind, selection.get("sort", "")))


def counts_by_area(queryset: QuerySet) -> dict[str, int]:
    """``{village area_code: rows}`` of a list's rows, in one ``GROUP BY``."""
    return dict(
        queryset.order_by().values_list("area_code").annotate(n=Count("pk")).values_list("area_code", "n")
    )


def township_counts(by_village: dict[str, int], areas) -> list[dict]:
    """The counts by township, each with its villages' counts, in code order (names from the
    reader's :class:`~reports.forms.AreaIndex`); areas with no rows are left out."""
    townships: dict[str, dict] = {}
    for code in sorted(by_village):
        township = code[:9].ljust(12, "0")
        entry = townships.setdefault(
            township,
            {"code": township, "name": areas.names.get(township, township), "count": 0, "villages": []},
        )
        entry["count"] += by_village[code]
        entry["villages"].append(
            {"code": code, "name": areas.names.get(code, code), "count": by_village[code]}
        )
    return list(townships.values())


def sources(columns: tuple[Column, ...]) -> list[str]:
    """The distinct ``values_list`` paths of some columns, in order."""
    return list(dict.fromkeys(c.source for c in columns))


def read_rows(rows, columns: tuple[Column, ...], *, reveal: bool, names: dict, display: bool) -> list[dict]:
    """``values_list`` rows (of :func:`sources`) as ``{key: value}``: the API's values
    (``display=False``) or what a person reads (``display=True``)."""
    index = {source: i for i, source in enumerate(sources(columns))}
    out = []
    for row in rows:
        if display:
            out.append({c.key: c.display(row[index[c.source]], reveal=reveal, areas=names) for c in columns})
        else:
            out.append({c.key: c.value(row[index[c.source]], reveal=reveal, areas=names) for c in columns})
    return out
