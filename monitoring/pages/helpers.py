"""Helper pairing pages: the helpers' loads and visits with bulk pairing (/helpers/), one
helper's households, visits and leaving (/helpers/<pk>/), and the monitored households with no
responsible helper (/helpers/unassigned/). Every write is ``monitoring.services.pairing``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.errors import ServiceError, ValidationError
from accounts.models import Area, AreaLevel
from config.forms import add_service_errors, already_submitted, refusal, remember_submitted
from households.models import Helper, HelperAssignment, Household
from monitoring.county import settings_for
from monitoring.forms import HelperLeaveForm, PairingForm
from monitoring.models import Visit
from monitoring.rules.deadlines import local_date
from monitoring.services import pairing

from .common import error_status, paginate, show_error, staff_page

LEAVE_ROLES = ("township_reviewer", "county_approver")


def _require_reader(user) -> None:
    if not user.has_role(*pairing.READ_ROLES):
        raise PermissionDenied(_("您的角色不使用此页面。"))


def _areas(user) -> list[Area]:
    """The townships and villages the user may pair (their own areas and below)."""
    return list(
        Area.objects.for_user(user).filter(level__in=(AreaLevel.TOWNSHIP, AreaLevel.VILLAGE)).order_by("code")
    )


def _helper_page(request, user, today):
    """A page of the helpers the user reads, then each one's load, visits this month and last
    visit, counted for that page's helpers only (grouped queries, not one join per helper)."""
    helpers = pairing.helpers_in_area(user, Helper.objects.all(), on=today).select_related("village")
    page = paginate(request, helpers.order_by("village__code", "name", "pk"))
    ids = [h.pk for h in page.object_list]
    loads = dict(
        pairing.active_responsible(today)
        .filter(helper_id__in=ids)
        .order_by()
        .values("helper_id")
        .annotate(n=Count("pk"))
        .values_list("helper_id", "n")
    )
    visits = {
        row["helper_id"]: row
        for row in Visit.objects.filter(helper_id__in=ids)
        .order_by()
        .values("helper_id")
        .annotate(month=Count("pk", filter=Q(visited_on__gte=today.replace(day=1))), last=Max("visited_on"))
    }
    for h in page.object_list:
        h.load = loads.get(h.pk, 0)
        h.visits_month = visits.get(h.pk, {}).get("month", 0)
        h.last_visit = visits.get(h.pk, {}).get("last")
    return page


def _default_limit(user) -> int:
    prefixes = user.scope_prefixes()
    return settings_for(prefixes[0].ljust(12, "0") if prefixes else "").helper_max_households


@staff_page
@require_http_methods(["GET", "POST"])
def helper_list(request):
    """``/helpers/``: each helper's load (households now), visits this month and last visit;
    the unassigned monitored households' count; bulk pairing (preview, then confirm)."""
    user = request.user
    _require_reader(user)
    now = timezone.now()
    today = local_date(now)
    areas = _areas(user) if user.has_role(*pairing.PAIR_ROLES) else []
    can_pair = bool(areas)
    result, status = None, 200
    if request.method == "POST":
        if not can_pair:
            raise PermissionDenied(_("您的角色不能结对帮扶人。"))
        form = PairingForm(request.POST, areas=areas)
        dry_run = "confirm" not in request.POST
        if not dry_run and (done := already_submitted(request, form.submitted_token())):
            return done
        if form.is_valid():
            try:
                result = pairing.pair_helpers(
                    actor=user, dry_run=dry_run, now=now, **form.service_values(areas)
                )
            except (ServiceError, ValidationError) as exc:
                show_error(form, exc)
                status = error_status(exc)
            else:
                if result.written:
                    url = reverse("monitoring:helpers")
                    remember_submitted(request, form.submitted_token(), url)
                    messages.success(
                        request,
                        _("已结对%(paired)d户，%(left)d户因帮扶人已满暂未结对。")
                        % {"paired": len(result.pairs), "left": len(result.unpaired)},
                    )
                    return redirect(url)
        else:
            values = form.service_values(areas)
            add_service_errors(
                form, refusal(lambda: pairing.pair_helpers(actor=user, dry_run=True, now=now, **values))
            )
    else:
        form = PairingForm(areas=areas, initial={"start_date": today, "limit": _default_limit(user)})
    unassigned = pairing.unassigned_monitored(Household.objects.for_user(user), on=today).count()
    return render(
        request,
        "monitoring/helper_list.html",
        {
            "page": _helper_page(request, user, today),
            "form": form,
            "can_pair": can_pair,
            "result": result,
            "unassigned": unassigned,
            "today": today,
        },
        status=status,
    )


@staff_page
def helper_unassigned(request):
    """``/helpers/unassigned/``: monitored households of the user's area with no responsible
    helper today (the home page's to-do links here)."""
    _require_reader(request.user)
    today = local_date(timezone.now())
    rows = (
        pairing.unassigned_monitored(Household.objects.for_user(request.user), on=today)
        .select_related("head", "village")
        .order_by("area_code", "number")
    )
    return render(
        request,
        "monitoring/helper_unassigned.html",
        {"page": paginate(request, rows), "can_pair": request.user.has_role(*pairing.PAIR_ROLES)},
    )


@staff_page
@require_http_methods(["GET", "POST"])
def helper_detail(request, pk: int):
    """``/helpers/<pk>/``: the helper's households now and before, their visits, and (township
    and county staff) the helper's leaving, which pairs their households again."""
    user = request.user
    _require_reader(user)
    now = timezone.now()
    today = local_date(now)
    helpers = pairing.helpers_in_area(user, Helper.objects.select_related("village", "county"), on=today)
    helper = get_object_or_404(helpers, pk=pk)
    can_leave = user.has_role(*LEAVE_ROLES) and helper.left_on is None
    status = 200
    if request.method == "POST":
        if not can_leave:
            raise PermissionDenied(_("您不能办理该帮扶人的离岗。"))
        form = HelperLeaveForm(request.POST)
        if done := already_submitted(request, form.submitted_token()):
            return done
        if form.is_valid():
            try:
                result = pairing.helper_leave(actor=user, helper=helper, now=now, **form.service_values())
            except (ServiceError, ValidationError) as exc:
                show_error(form, exc)
                status = error_status(exc)
            else:
                url = reverse("monitoring:helper_detail", args=[helper.pk])
                remember_submitted(request, form.submitted_token(), url)
                messages.success(
                    request,
                    _("已登记离岗；%(paired)d户已重新结对，%(left)d户待结对。")
                    % {"paired": len(result.pairs), "left": len(result.unpaired)},
                )
                return redirect(url)
        else:
            values = form.service_values()
            add_service_errors(
                form, refusal(lambda: pairing.helper_leave(actor=user, helper=helper, now=now, **values))
            )
    else:
        form = HelperLeaveForm(initial={"left_on": today})
    assignments = list(
        HelperAssignment.objects.filter(helper=helper)
        .select_related("household__head", "household__village")
        .order_by("-start_date", "-id")
    )
    # an assignment ending today is shown as ended: the page is read after the leaving
    current = [a for a in assignments if a.start_date <= today and (a.end_date is None or a.end_date > today)]
    past = [a for a in assignments if a not in current]
    visits = (
        Visit.objects.filter(helper=helper)
        .filter(Q(household__in=Household.objects.for_user(user)))
        .select_related("household__head")
        .order_by("-visited_on", "-id")
    )
    return render(
        request,
        "monitoring/helper_detail.html",
        {
            "helper": helper,
            "current": current,
            "past": past,
            "visits": paginate(request, visits),
            "form": form,
            "can_leave": can_leave,
        },
        status=status,
    )
