"""Motivation points (扶志积分): the village's points page, a household's points (award and
redeem), and the village's printable ledger. Every write is ``monitoring.services.points``."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.errors import ServiceError, ValidationError
from accounts.models import Area, AreaLevel
from config.forms import add_service_errors, already_submitted, refusal, remember_submitted
from households.models import Household
from monitoring.forms import PointsAwardForm, PointsRedeemForm
from monitoring.models import PointsAccount, PointsEntry, PointsEntryKind
from monitoring.rules.deadlines import local_date
from monitoring.services import points

from .common import error_status, paginate, show_error, staff_page

PRINT_LIMIT = 2000
RECENT = 20


def _require_reader(user) -> None:
    if not user.has_role(*points.READ_ROLES):
        raise PermissionDenied(_("您的角色不使用此页面。"))


def _villages(user):
    return Area.objects.for_user(user).filter(level=AreaLevel.VILLAGE).order_by("code")


def _village(request, villages) -> Area | None:
    """The village asked for (a 404 outside the reader's areas), or their only village."""
    raw = request.GET.get("village") or ""
    if raw:
        if not raw.isdigit():
            raise Http404
        return get_object_or_404(villages.select_related("parent"), pk=int(raw))
    only = list(villages.select_related("parent")[:2])
    return only[0] if len(only) == 1 else None


def _entries(user):
    return PointsEntry.objects.for_user(user).select_related(
        "household__head", "conduct", "item", "recorded_by"
    )


@staff_page
def points_village(request):
    """``/points/``: a village's households with their points, its totals and latest entries,
    the county's conduct list and goods, and the link to the printable ledger."""
    _require_reader(request.user)
    villages = _villages(request.user)
    village = _village(request, villages)
    context = {
        "villages": villages if village is None or request.GET.get("village") else [],
        "village": village,
    }
    if village is not None:
        households = (
            Household.objects.for_user(request.user)
            .filter(village=village)
            .select_related("head")
            .annotate(
                balance=Coalesce("points_account__balance", Value(0), output_field=IntegerField()),
                awarded=Coalesce("points_account__awarded", Value(0), output_field=IntegerField()),
                redeemed=Coalesce("points_account__redeemed", Value(0), output_field=IntegerField()),
            )
            .order_by("number")
        )
        totals = (
            PointsAccount.objects.for_user(request.user)
            .filter(area_code=village.code)
            .aggregate(
                households=Count("pk", filter=Q(awarded__gt=0)),
                awarded=Coalesce(Sum("awarded"), 0),
                redeemed=Coalesce(Sum("redeemed"), 0),
                balance=Coalesce(Sum("balance"), 0),
            )
        )
        context.update(
            {
                "page": paginate(request, households),
                "totals": totals,
                "recent": _entries(request.user).filter(area_code=village.code)[:RECENT],
                "conduct_items": points.conduct_items_for(village.code),
                "shop_items": points.shop_items_for(village.code),
                "can_write": request.user.has_role(*points.WRITE_ROLES),
            }
        )
    return render(request, "monitoring/points_village.html", context)


def _forms(request, household, data=None, action=""):
    conduct = list(points.conduct_items_for(household.area_code))
    goods = list(points.shop_items_for(household.area_code))
    today = local_date(timezone.now())
    award = PointsAwardForm(
        data if action == "award" else None,
        prefix="award",
        conduct_items=conduct,
        initial={"awarded_on": today},
    )
    redeem = PointsRedeemForm(
        data if action == "redeem" else None,
        prefix="redeem",
        shop_items=goods,
        initial={"redeemed_on": today, "quantity": 1},
    )
    return award, redeem


SERVICES = {"award": points.points_award, "redeem": points.points_redeem}
DONE = {
    "award": gettext_lazy("已登记 %(points)d 分，当前余额 %(balance)d 分。"),
    "redeem": gettext_lazy("已兑换，扣减 %(points)d 分，当前余额 %(balance)d 分。"),
}


def _post(request, household, form, action: str):
    """Run the award or redemption; the redirect on success, else None (errors on the form)."""
    if done := already_submitted(request, form.submitted_token()):
        return done, 200
    service = SERVICES[action]
    now = timezone.now()
    if form.is_valid():
        try:
            entry = service(actor=request.user, household=household, now=now, **form.service_values())
        except (ServiceError, ValidationError) as exc:
            show_error(form, exc)
            return None, error_status(exc)
        url = reverse("monitoring:household_points", args=[household.pk])
        remember_submitted(request, form.submitted_token(), url)
        messages.success(
            request, str(DONE[action]) % {"points": abs(entry.points), "balance": entry.balance_after}
        )
        return redirect(url), 200
    values = form.service_values()
    add_service_errors(
        form, refusal(lambda: service(actor=request.user, household=household, now=now, **values))
    )
    return None, 200


@staff_page
@require_http_methods(["GET", "POST"])
def household_points(request, pk: int):
    """``/households/<pk>/points/``: the household's balance and entries; for the village's
    cadre the panel's award form and the point shop's redemption form."""
    _require_reader(request.user)
    household = get_object_or_404(
        Household.objects.for_user(request.user).select_related("head", "village__parent"), pk=pk
    )
    can_write = request.user.has_role(*points.WRITE_ROLES)
    status = 200
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied(_("扶志积分由村干部登记。"))
        if action not in SERVICES:
            raise Http404
    award, redeem = _forms(request, household, request.POST, action)
    if action:
        response, status = _post(request, household, award if action == "award" else redeem, action)
        if response is not None:
            return response
    account = PointsAccount.objects.filter(household=household).first()
    return render(
        request,
        "monitoring/points_household.html",
        {
            "household": household,
            "account": account,
            "entries": paginate(request, _entries(request.user).filter(household=household)),
            "award_form": award,
            "redeem_form": redeem,
            "can_write": can_write,
        },
        status=status,
    )


def _period(request) -> tuple[dt.date, dt.date]:
    today = local_date(timezone.now())
    start, end = dt.date(today.year, 1, 1), today
    for name in ("from", "to"):
        raw = request.GET.get(name) or ""
        try:
            value = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            value = None
        if value is not None and dt.date(2000, 1, 1) <= value <= dt.date(2100, 12, 31):
            if name == "from":
                start = value
            else:
                end = value
    return start, end


@staff_page
def points_ledger_print(request):
    """``/points/print/?village=<id>&from=&to=``: the village's points ledger for a period, on A4:
    every award and redemption by date, and each household's points in the period."""
    _require_reader(request.user)
    village = _village(request, _villages(request.user))
    if village is None:
        raise Http404(_("请先选择一个村。"))
    start, end = _period(request)
    rows = (
        _entries(request.user)
        .filter(area_code=village.code, occurred_on__gte=start, occurred_on__lte=end)
        .order_by("occurred_on", "id")
    )
    entries = list(rows[:PRINT_LIMIT])
    summary = (
        rows.order_by()
        .values("household__number", "household__head__name")
        .annotate(
            awarded=Coalesce(Sum("points", filter=Q(kind=PointsEntryKind.AWARD)), 0),
            redeemed=Coalesce(-Sum("points", filter=Q(kind=PointsEntryKind.REDEEM)), 0),
        )
        .order_by("household__number")
    )
    balances = dict(
        PointsAccount.objects.for_user(request.user)
        .filter(area_code=village.code)
        .values_list("household__number", "balance")
    )
    return render(
        request,
        "monitoring/points_print.html",
        {
            "village": village,
            "start": start,
            "end": end,
            "entries": entries,
            "truncated": len(entries) == PRINT_LIMIT,
            "summary": [{**row, "balance": balances.get(row["household__number"], 0)} for row in summary],
            "today": local_date(timezone.now()),
        },
    )
