"""The county's figures and charts (``/dashboard/``) and each figure's table as a file.

The page reads the figures the nightly precompute stored for the chosen area
(:mod:`reports.snapshots`) and says when they were computed. An area with no stored figures
is computed live when it is small (fewer than ``LIVE_HOUSEHOLDS`` households);
otherwise the page says how to compute them. Charts (ECharts, vendored), the table under each
chart and the table's export all come from the same rows.
"""

from __future__ import annotations

import csv
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.models import Area, AreaLevel, Role, SecurityEventKind
from accounts.security import security_event
from config.db_router import replica_reads
from households.models import Household
from monitoring.rules.deadlines import local_date
from reports import figures, snapshots

#: Who reads the dashboard: township and county staff and operators, for their areas.
DASHBOARD_ROLES = (Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)
#: Below this many households an area without stored figures is computed on the request.
LIVE_HOUSEHOLDS = 20_000


def _check(user) -> None:
    if not user.has_role(*DASHBOARD_ROLES):
        raise PermissionDenied(_("您的角色不使用此页面。"))


def area_choices(user) -> list[tuple[str, str, str]]:
    """``(prefix, name, level)`` of the counties and townships the user may choose, in code
    order (one query)."""
    rows = (
        Area.objects.for_user(user)
        .filter(level__in=[AreaLevel.COUNTY, AreaLevel.TOWNSHIP])
        .order_by("code")
        .values_list("code", "name", "level")
    )
    return [(code[:6] if level == AreaLevel.COUNTY else code[:9], name, level) for code, name, level in rows]


def selected_area(request, choices) -> tuple[str, str]:
    """The chosen area's prefix (the first choice by default) and a message when the request
    asked for one that is not among the choices."""
    wanted = (request.GET.get("area") or "").strip()
    prefixes = [c[0] for c in choices]
    if wanted and wanted in prefixes:
        return wanted, ""
    default = prefixes[0] if prefixes else ""
    return default, (_("所选区域不在您的工作范围内，已显示默认区域。") if wanted else "")


def figure_data(user, area: str) -> tuple[dict[str, dict], object, bool]:
    """``({key: data}, computed_at, live)`` for ``area``: the stored figures, or the figures
    computed now when the area is small enough; ``({}, None, False)`` when neither."""
    stored = snapshots.snapshots_for(area) if area else {}
    if stored:
        computed_at = min(s.computed_at for s in stored.values())
        return {k: s.data for k, s in stored.items()}, computed_at, False
    if not area:
        return {}, None, False
    if figures.scoped_rows(Household, user=user, area=area).count() >= LIVE_HOUSEHOLDS:
        return {}, None, False
    today = local_date(timezone.now())
    return figures.compute_all(user=user, area=area, today=today), timezone.now(), True


def _charts(data: dict[str, dict], language: str) -> list[dict]:
    out = []
    for figure in figures.FIGURES:
        if figure.key not in data:
            continue
        table = figures.localize(data[figure.key], language)
        out.append(
            {
                "key": figure.key,
                "title": str(figure.title),
                "note": str(figure.note),
                "chart": figure.chart,
                "y_name": str(figure.y_name),
                "plotted": list(figure.plotted)
                if figure.plotted is not None
                else list(range(len(table["series"]))),
                "series": table["series"],
                "rows": table["rows"],
            }
        )
    return out


@login_required
@replica_reads
def dashboard(request):
    _check(request.user)
    choices = area_choices(request.user)
    area, warning = selected_area(request, choices)
    data, computed_at, live = figure_data(request.user, area)
    charts = _charts(data, translation.get_language() or "zh-hans")
    return render(
        request,
        "reports/dashboard.html",
        {
            "choices": choices,
            "area": area,
            "warning": warning,
            "charts": charts,
            "chart_specs": [
                {k: c[k] for k in ("key", "chart", "y_name", "plotted", "series", "rows")} for c in charts
            ],
            "computed_at": computed_at,
            "live": live,
            "can_run": request.user.has_role(Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER, Role.OPERATOR),
        },
    )


def _table(request) -> tuple[figures.Figure, dict, str]:
    _check(request.user)
    key = request.GET.get("figure") or ""
    figure = figures.FIGURES_BY_KEY.get(key)
    if figure is None:
        raise Http404(_("没有这张统计图。"))
    choices = area_choices(request.user)
    area, _warning = selected_area(request, choices)
    data, _computed_at, _live = figure_data(request.user, area)
    if key not in data:
        raise Http404(_("该区域的统计数据尚未计算。"))
    return figure, figures.localize(data[key], translation.get_language() or "zh-hans"), area


@login_required
@replica_reads
def figure_export(request, fmt: str):
    figure, table, area = _table(request)
    key = figure.key
    header = [_("项目"), *table["series"]]
    name = f"{key}-{area or 'all'}"
    security_event(
        SecurityEventKind.EXPORT, request=request, user=request.user, export=key, area=area or None
    )
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # so that spreadsheet programs read the Chinese as UTF-8
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(table["rows"])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    book = Workbook()
    sheet = book.active
    sheet.title = key[:31]
    sheet.append([str(figure.title)])
    sheet["A1"].font = Font(bold=True)
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table["rows"]:
        sheet.append(row)
    sheet.column_dimensions["A"].width = 36
    content = io.BytesIO()
    book.save(content)
    response = HttpResponse(
        content.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
