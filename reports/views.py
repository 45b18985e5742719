"""Ledger pages: the counts a county reports upward (``/reports/``) and their workbook.

Views parse the query (:class:`reports.forms.CountsQuery`), call one selector and render; the
API (``reports/api.py``) and the export (``reports/exports.py``) call the same selector, so
the screen, the file and the API always agree.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.models import Area, AreaLevel, Role, SecurityEventKind
from accounts.security import security_event
from reports import exports
from reports import selectors as ledgers
from reports.forms import CountsQuery

#: Who reads the ledgers on the pages: village cadres for their villages, township and
#: county staff and operators for their areas.
REPORT_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)


def _query(request) -> tuple[CountsQuery, dict]:
    if not request.user.has_role(*REPORT_ROLES):
        raise PermissionDenied(_("您的角色不使用此页面。"))
    query = CountsQuery(request.GET)
    return query, query.selection() if query.is_valid() else CountsQuery.default_selection()


def _area_choices(user) -> list[Area]:
    """Townships and villages the user may narrow to, in code order (one query)."""
    return list(
        Area.objects.for_user(user)
        .filter(level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE])
        .only("code", "name", "level")
        .order_by("code")
    )


@login_required
def counts(request):
    query, selection = _query(request)
    report = ledgers.counts_report(user=request.user, **selection)
    areas = _area_choices(request.user)
    return render(
        request,
        "reports/counts.html",
        {
            "query": query,
            "report": report,
            "areas": areas,
            "selected_area": selection["area"],
            "selected_year": selection["year"],
        },
    )


@login_required
def counts_xlsx(request):
    query, selection = _query(request)
    if query.errors:
        return counts(request)
    report = ledgers.counts_report(user=request.user, **selection)
    area = Area.objects.filter(code=selection["area"].ljust(12, "0")).first() if selection["area"] else None
    content = exports.counts_workbook(report, area_name=area.name if area else "")
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"ledger-counts-{selection['area'] or 'all'}-{selection['year']}.xlsx"
    security_event(
        SecurityEventKind.EXPORT,
        request=request,
        user=request.user,
        export="ledger_counts",
        area=selection["area"] or None,
        year=selection["year"],
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
