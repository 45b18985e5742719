"""Clue pages: a self-report or screening finding for a household (opens the case at once), and
the county's triage of department alerts — match to a household, dismiss with a reason, open a
case — one at a time or for several clues at once."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import ServiceError, ValidationError
from config.forms import add_service_errors, already_submitted, refusal, remember_submitted, style
from households import idnumber, search_terms
from households.api import reveals_identity
from households.filters import HouseholdFilter
from households.models import Household
from monitoring import dispatch
from monitoring.filters import ClueFilter
from monitoring.forms import ClueBulkForm, ClueDismissForm, ClueMatchForm, ClueOpenForm, ClueReportForm
from monitoring.models import Clue, ClueStatus
from monitoring.services import clues as clue_services

from .common import TRIAGE_ROLES, error_status, paginate, query_without_page, show_error, staff_page

BULK_RESULTS = "clue_bulk_results"
SEARCH_LIMIT = 20
OPEN = (ClueStatus.UNMATCHED, ClueStatus.PENDING)


def _submitted(request, form):
    return already_submitted(request, form.submitted_token())


def _remember(request, form, url: str) -> None:
    remember_submitted(request, form.submitted_token(), url)


# --- a household's clue ---------------------------------------------------------------------------


@staff_page
def clue_report(request, pk: int):
    """``/households/<pk>/clue/``: record a self-report or a screening finding → the case page."""
    household = get_object_or_404(
        Household.objects.for_user(request.user).select_related("head", "village"), pk=pk
    )
    status = 200
    if request.method == "POST":
        form = ClueReportForm(request.POST, auto_id="id_%s")
        done = _submitted(request, form)
        if done is not None:
            return done
        if form.is_valid():
            try:
                clue = clue_services.clue_create(
                    actor=request.user, household=household, **form.service_values()
                )
            except (ServiceError, ValidationError) as exc:
                show_error(form, exc)
                status = error_status(exc)
            else:
                if clue.case_id:
                    url = reverse("monitoring:case_detail", args=[clue.case_id])
                    if clue.status == ClueStatus.ATTACHED:
                        messages.success(request, clue.outcome)
                    else:
                        messages.success(request, _("线索已登记，已启动识别程序。"))
                else:
                    url = reverse("monitoring:home")
                    messages.success(request, _("线索已登记，等待乡镇或县级研判。"))
                _remember(request, form, url)
                return redirect(url)
        else:  # the service's messages too, in the same round (nothing is written)
            values = form.service_values()
            add_service_errors(
                form,
                refusal(lambda: clue_services.clue_create(actor=request.user, household=household, **values)),
            )
    else:
        form = ClueReportForm(initial={"found_date": timezone.localdate()})
    return render(request, "monitoring/clue_form.html", {"form": form, "household": household}, status=status)


# --- triage -----------------------------------------------------------------------------------------


def _triage_only(user) -> None:
    if not user.has_role(*TRIAGE_ROLES):
        raise PermissionDenied(_("线索研判由县级审定人员办理。"))


def _clue_queryset(user):
    return (
        Clue.objects.for_user(user)
        .select_related("department", "household__head", "household__village", "household__score", "case")
        .prefetch_related("risk_types")
    )


@staff_page
def clue_list(request):
    """``/clues/``: the county's triage list (unmatched and pending clues unless asked otherwise)."""
    _triage_only(request.user)
    params = request.GET.copy()
    if "status" not in params and not params.get("all"):
        params.setlist("status", list(OPEN))
    filterset = ClueFilter(
        params, queryset=_clue_queryset(request.user).order_by("found_date", "id"), request=request
    )
    style(filterset.form)
    page = paginate(request, filterset.qs)
    for clue in page.object_list:
        clue.id_masked = idnumber.mask(clue.id_number)
    results = request.session.pop(BULK_RESULTS, None)
    return render(
        request,
        "monitoring/clue_list.html",
        {
            "page": page,
            "filterset": filterset,
            "bulk_form": ClueBulkForm(clue_queryset=Clue.objects.none(), auto_id="id_bulk_%s"),
            "results": results,
            "query": query_without_page(request),
            "full_query": request.GET.urlencode(),
        },
    )


@staff_page
@require_POST
def clue_bulk(request):
    """Dismiss, or open cases for, the ticked clues; each one reported done or refused."""
    _triage_only(request.user)
    form = ClueBulkForm(request.POST, clue_queryset=Clue.objects.for_user(request.user))
    back = reverse("monitoring:clue_list")
    query = request.POST.get("query") or ""
    if query and "\n" not in query and "://" not in query:
        back = f"{back}?{query}"
    done = _submitted(request, form)
    if done is not None:
        return done
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(back)
    data = form.cleaned_data
    results = dispatch.clues_bulk(
        user=request.user,
        clues_=list(data["clues"].order_by("id")),
        action=data["bulk_action"],
        reason=data["reason"],
        note=data["note"],
    )
    request.session[BULK_RESULTS] = [
        {
            "id": r.clue.pk,
            "label": r.clue.name or r.clue.external_id or str(r.clue.pk),
            "ok": r.ok,
            "message": r.message,
            "case_id": r.case_id,
        }
        for r in results
    ]
    done_count = sum(1 for r in results if r.ok)
    messages.info(
        request,
        _("已办理%(done)s条，未办理%(refused)s条。")
        % {"done": done_count, "refused": len(results) - done_count},
    )
    _remember(request, form, back)
    return redirect(back)


def _clue_context(request, clue: Clue, query=None, **forms) -> dict:
    user = request.user
    can_triage = user.has_role(*TRIAGE_ROLES) and clue.status in OPEN
    q = (request.GET if query is None else query).get("q")
    if q is None:
        q = clue.id_number or clue.name
    candidates = []
    if can_triage and q:
        found = HouseholdFilter({"search": q}, queryset=Household.objects.for_user(user))
        candidates = list(found.qs.select_related("head", "village").order_by("number")[:SEARCH_LIMIT])
    reveal = reveals_identity(user)
    return {
        "clue": clue,
        "id_number": clue.id_number if reveal else idnumber.mask(clue.id_number),
        "can_triage": can_triage,
        "q": q,
        "candidates": candidates,
        "match_form": forms.get("match_form") or ClueMatchForm(auto_id="id_match_%s"),
        "dismiss_form": forms.get("dismiss_form") or ClueDismissForm(auto_id="id_dismiss_%s"),
        "open_form": forms.get("open_form") or ClueOpenForm(auto_id="id_open_%s"),
    }


@staff_page
def clue_detail(request, pk: int):
    clue = get_object_or_404(_clue_queryset(request.user), pk=pk)
    if request.method == "POST":  # the household search box: an ID number never in the address
        return search_terms.post_to_get(request, "q")
    query, redirect_to = search_terms.page_query(request, "q")
    if redirect_to is not None:
        return redirect_to
    return render(request, "monitoring/clue_detail.html", _clue_context(request, clue, query))


def _blank(field):
    """What a field that did not parse is sent to the service as, in a trial call."""
    return "" if isinstance(field, forms.CharField) else None


def _clue_action(request, pk: int, form_class, form_name: str, call):
    clue = get_object_or_404(_clue_queryset(request.user), pk=pk)  # outside my area: 404 first
    _triage_only(request.user)
    form = form_class(request.POST, auto_id=f"id_{form_name.split('_')[0]}_%s")
    done = _submitted(request, form)
    if done is not None:
        return done
    status = 200
    if form.is_valid():
        try:
            url, message = call(clue, form.cleaned_data)
        except (ServiceError, ValidationError) as exc:
            show_error(form, exc)
            status = error_status(exc)
        else:
            _remember(request, form, url)
            messages.success(request, message)
            return redirect(url)
    else:  # the service's messages too, in the same round (nothing is written)
        data = {name: form.cleaned_data.get(name, _blank(form.fields[name])) for name in form.fields}
        add_service_errors(form, refusal(lambda: call(clue, data)))
    clue = get_object_or_404(_clue_queryset(request.user), pk=pk)
    context = _clue_context(request, clue, **{form_name: form})
    return render(request, "monitoring/clue_detail.html", context, status=status)


@staff_page
@require_POST
def clue_match(request, pk: int):
    def call(clue, data):
        household = Household.objects.for_user(request.user).filter(pk=data["household"]).first()
        if household is None:
            raise ValidationError({"household": _("请选择本人工作区域内的农户。")})
        clue = clue_services.clue_match(actor=request.user, clue=clue, household=household)
        if clue.case_id:
            return reverse("monitoring:case_detail", args=[clue.case_id]), clue.outcome
        return reverse("monitoring:clue_detail", args=[clue.pk]), _("已匹配农户%(n)s。") % {
            "n": household.number
        }

    return _clue_action(request, pk, ClueMatchForm, "match_form", call)


@staff_page
@require_POST
def clue_dismiss(request, pk: int):
    def call(clue, data):
        clue = clue_services.clue_dismiss(
            actor=request.user, clue=clue, reason=data["reason"], note=data["note"]
        )
        return reverse("monitoring:clue_list"), clue.outcome

    return _clue_action(request, pk, ClueDismissForm, "dismiss_form", call)


@staff_page
@require_POST
def clue_open(request, pk: int):
    def call(clue, data):
        case = clue_services.clue_open_case(actor=request.user, clue=clue)
        clue.refresh_from_db()
        return reverse("monitoring:case_detail", args=[case.pk]), clue.outcome or _("已启动识别程序。")

    return _clue_action(request, pk, ClueOpenForm, "open_form", call)
