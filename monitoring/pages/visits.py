"""The visit form (/households/<pk>/visit/) and a household's visits (/households/<pk>/visits/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from config.forms import already_submitted, refusal, remember_submitted
from monitoring.forms import VisitForm
from monitoring.pages.households import SERVICE_ERRORS, VISIT_ROLES, guarantees, household_for
from monitoring.rules import deadlines
from monitoring.services.visits import (
    GUARANTEE_FIELDS,
    case_visit_deadline,
    visit_record,
)

# --- visits ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def visit_create(request, pk: int):
    household = household_for(request, pk)
    now = timezone.now()
    if request.method == "POST":
        form = VisitForm(request.POST)
        if done := already_submitted(request, request.POST.get("submit_token")):
            return done
        if form.is_valid():
            try:
                visit = visit_record(actor=request.user, household=household, now=now, **form.service_data())
            except SERVICE_ERRORS as exc:
                form.show_service_error(exc)
            else:
                url = reverse("monitoring:household_detail", args=[household.pk]) + "#visits"
                remember_submitted(request, request.POST.get("submit_token"), url)
                text = _("已保存 %(date)s 的走访记录。") % {"date": visit.visited_on.isoformat()}
                if visit.raised_clue_id:
                    text += " " + _("已登记风险线索。")
                messages.success(request, text)
                return redirect(url)
        else:
            # Ask the service too (nothing is written), so every error shows in one round.
            data = {"visited_on": None, **form.service_data()}
            form.add_service_errors(
                refusal(lambda: visit_record(actor=request.user, household=household, now=now, **data))
            )
    else:
        initial = {"visited_on": deadlines.local_date(now)}
        initial.update({name: getattr(household, name) for name in GUARANTEE_FIELDS})
        form = VisitForm(initial=initial)
    last = (
        household.visits.select_related("helper", "visited_by", "raised_clue")
        .order_by("-visited_on", "-id")
        .first()
    )
    open_case = household.cases.open().first()
    next_visit = (
        case_visit_deadline(open_case, now=now, last_visit=last.visited_on if last else None)
        if open_case
        else None
    )
    return render(
        request,
        "monitoring/visit_form.html",
        {
            "household": household,
            "form": form,
            "last": last,
            "last_guarantees": guarantees(last) if last else [],
            "open_case": open_case,
            "next_visit": next_visit,
        },
    )


@login_required
def visit_list(request, pk: int):
    household = household_for(request, pk)
    visits = household.visits.select_related("helper", "visited_by", "raised_clue").order_by(
        "-visited_on", "-id"
    )
    page = Paginator(visits, 20).get_page(request.GET.get("page"))
    for visit in page.object_list:
        visit.guarantees = guarantees(visit)
    return render(
        request,
        "monitoring/visit_list.html",
        {
            "household": household,
            "page_obj": page,
            "visits": page.object_list,
            "can_visit": request.user.has_role(*VISIT_ROLES),
        },
    )
