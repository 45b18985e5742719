"""Pages of the frozen monthly ledgers: ``/reports/frozen/`` (the months, and "freeze last
month" for county approvers and operators) and ``/reports/frozen/<id>/`` (a ledger's frozen rows
and the difference from live). Township and village staff read their part."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import ServiceError
from accounts.models import Area, AreaLevel, Role
from households.models import HouseholdType, LowIncomeStatus, MonitoringCategory, MonitoringStatus
from monitoring.models import Channel, ClueStatus
from monitoring.rules import deadlines
from reports import frozen as freezing
from reports.models import FrozenMonth
from reports.models.ledger import READ_ROLES
from reports.selectors import LEDGER_LABELS, Ledger

PAGE_SIZE = 50


def _reader(request) -> None:
    if not request.user.has_role(*READ_ROLES):
        raise PermissionDenied(_("您的角色不使用此页面。"))


def _freezable_counties(user) -> list[Area]:
    if not user.has_role(*freezing.FREEZE_ROLES):
        return []
    return list(Area.objects.for_user(user).filter(level=AreaLevel.COUNTY).order_by("code"))


def _last_month() -> tuple[int, int]:
    return freezing.previous_month(deadlines.local_date(timezone.now()))


@login_required
def frozen_list(request):
    _reader(request)
    months = FrozenMonth.objects.for_user(request.user).select_related("county", "frozen_by")
    page = Paginator(months, 20).get_page(request.GET.get("page"))
    counts = freezing.counts_for(request.user, page.object_list)
    ledgers = [(str(ledger), LEDGER_LABELS[ledger]) for ledger in Ledger]
    for month in page.object_list:
        month.part_counts = [(label, counts[month.pk].get(key, 0)) for key, label in ledgers]
    year, month = _last_month()
    return render(
        request,
        "reports/frozen_list.html",
        {
            "page": page,
            "counties": _freezable_counties(request.user),
            "last_year": year,
            "last_month": month,
            "whole_county": request.user.has_role(Role.COUNTY_APPROVER, Role.OPERATOR),
        },
    )


@login_required
@require_POST
def frozen_freeze(request):
    _reader(request)
    counties = {str(c.pk): c for c in _freezable_counties(request.user)}
    if not counties:
        raise PermissionDenied(_("只有县级审定人员或系统管理员可以封存台账。"))
    county = counties.get(request.POST.get("county", ""))
    if county is None:
        messages.error(request, _("请选择要封存的县。"))
        return redirect("reports:frozen_list")
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("请勾选确认后再封存。"))
        return redirect("reports:frozen_list")
    year, month = _last_month()
    try:
        done = freezing.freeze_month(
            county=county, year=year, month=month, actor=request.user, now=timezone.now()
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("reports:frozen_list")
    messages.success(
        request,
        _("已封存%(county)s%(year)s年%(month)s月的台账。") % {"county": county.name, "year": year, "month": month},
    )
    return redirect("reports:frozen_detail", pk=done.pk)


@login_required
def frozen_detail(request, pk: int):
    _reader(request)
    frozen = get_object_or_404(
        FrozenMonth.objects.for_user(request.user).select_related("county", "frozen_by"), pk=pk
    )
    wanted = request.GET.get("ledger") or str(Ledger.KEY_MONITORING)
    if wanted not in Ledger._value2member_map_:
        messages.warning(request, _("没有这本台账，已显示重点监测对象。"))
        wanted = str(Ledger.KEY_MONITORING)
    ledger = Ledger(wanted)
    rows = freezing.visible_rows(frozen, user=request.user, ledger=ledger).order_by("area_code", "number", "pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.labels = [
            str(choices(value).label)
            for choices, value in (
                (HouseholdType, row.household_type),
                (MonitoringCategory, row.monitoring_category),
                (MonitoringStatus, row.monitoring_status),
                (LowIncomeStatus, row.low_income_status),
                (Channel, row.channel),
                (ClueStatus, row.clue_status),
            )
            if value and value in choices.values
        ]
    counts = freezing.counts_for(request.user, [frozen])[frozen.pk]
    tabs = [(str(x), LEDGER_LABELS[x], counts.get(str(x), 0)) for x in Ledger]
    diff = freezing.difference(frozen, ledger, user=request.user, limit=10)
    return render(
        request,
        "reports/frozen_detail.html",
        {
            "frozen": frozen,
            "ledger": str(ledger),
            "ledger_label": LEDGER_LABELS[ledger],
            "clues": ledger == Ledger.EARLY_WARNING,
            "tabs": tabs,
            "page": page,
            "diff": diff,
        },
    )
