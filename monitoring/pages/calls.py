"""The one-key emergency call's pages: raise from the household page, the list of calls, a
call's page with its hops, the one-tap acknowledgement and the closing form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from config.forms import add_service_errors, already_submitted, refusal, remember_submitted
from households.api import reveals_identity
from households.forms import show_service_error
from households.idnumber import mask_phone
from households.models import HelperAssignment
from monitoring.forms import CallCloseForm, CallRaiseForm
from monitoring.models import CallStatus, EmergencyCall, HopState
from monitoring.pages.households import SERVICE_ERRORS, household_for
from monitoring.rules import deadlines
from monitoring.services.calls import CALL_ROLES, call_acknowledge, call_close, call_raise, reached

STATUS_FILTERS = ("active", "closed", "all")


def _call_for(request, pk: int) -> EmergencyCall:
    return get_object_or_404(
        EmergencyCall.objects.for_user(request.user).select_related(
            "household__head",
            "household__village__parent",
            "raised_by",
            "acknowledged_by",
            "closed_by",
            "clue",
        ),
        pk=pk,
    )


@login_required
@require_http_methods(["GET", "POST"])
def call_raise_page(request, pk: int):
    """/households/<pk>/call/: one button (and an optional note) raises the call."""
    household = household_for(request, pk)
    active = EmergencyCall.objects.active().filter(household=household).first()
    if request.method == "POST":
        form = CallRaiseForm(request.POST)
        if done := already_submitted(request, request.POST.get("submit_token")):
            return done
        if form.is_valid():
            try:
                call, created = call_raise(
                    actor=request.user,
                    household=household,
                    note=form.cleaned_data["note"],
                    now=timezone.now(),
                )
            except SERVICE_ERRORS as exc:
                show_service_error(form, exc)
            else:
                url = reverse("monitoring:call_detail", args=[call.pk])
                remember_submitted(request, request.POST.get("submit_token"), url)
                if created:
                    messages.success(request, _("已发起紧急呼叫，正在通知帮扶联系人。"))
                else:
                    messages.info(request, _("该户已有进行中的紧急呼叫。"))
                return redirect(url)
    else:
        form = CallRaiseForm()
    return render(
        request,
        "monitoring/call_raise.html",
        {
            "household": household,
            "form": form,
            "active": active,
            "can_raise": request.user.has_role(*CALL_ROLES),
        },
    )


@login_required
def call_list(request):
    """/calls/: the calls of the person's area (a helper: of their households), those in
    progress first."""
    shown = request.GET.get("status") if request.GET.get("status") in STATUS_FILTERS else "active"
    calls = EmergencyCall.objects.for_user(request.user).select_related(
        "household__head", "household__village", "acknowledged_by"
    )
    if shown == "active":
        calls = calls.active()
    elif shown == "closed":
        calls = calls.filter(status=CallStatus.CLOSED)
    page = Paginator(calls.order_by("-raised_at", "-id"), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/call_list.html",
        {"page_obj": page, "calls": page.object_list, "shown": shown, "filters": STATUS_FILTERS},
    )


def _detail_context(request, call: EmergencyCall, close_form=None) -> dict:
    now = timezone.now()
    user = request.user
    reveal = reveals_identity(user)
    hops = list(call.hops.order_by("position"))
    contacts = list(
        HelperAssignment.objects.active(on=deadlines.local_date(now))
        .filter(household=call.household)
        .select_related("helper")
        .order_by("kind", "id")
    )
    for a in contacts:
        a.phone_shown = a.helper.phone if reveal else mask_phone(a.helper.phone)
    household = call.household
    may_handle = call.is_active and (reached(call, user) or user.has_role(*CALL_ROLES))
    next_hop = next((h for h in hops if h.state == HopState.PLANNED), None)
    return {
        "call": call,
        "household": household,
        "phone_shown": household.phone if reveal else household.phone_masked,
        "hops": hops,
        "next_hop": next_hop,
        "contacts": contacts,
        "may_handle": may_handle,
        "reveal": reveal,
        "close_form": close_form or CallCloseForm(),
        "now": now,
    }


@login_required
def call_detail(request, pk: int):
    call = _call_for(request, pk)
    return render(request, "monitoring/call_detail.html", _detail_context(request, call))


@login_required
@require_POST
def call_acknowledge_page(request, pk: int):
    """The one tap: "I am on my way"."""
    call = _call_for(request, pk)
    try:
        call_acknowledge(actor=request.user, call=call, now=timezone.now())
    except SERVICE_ERRORS as exc:
        messages.error(request, getattr(exc, "message", None) or "; ".join(exc.messages))
    else:
        messages.success(request, _("已应答，其他人会收到您已接手的提醒。"))
    return redirect("monitoring:call_detail", pk=call.pk)


@login_required
@require_POST
def call_close_page(request, pk: int):
    call = _call_for(request, pk)
    form = CallCloseForm(request.POST)
    if done := already_submitted(request, request.POST.get("submit_token")):
        return done
    now = timezone.now()
    if form.is_valid():
        try:
            call_close(actor=request.user, call=call, now=now, **form.service_data())
        except SERVICE_ERRORS as exc:
            show_service_error(form, exc)
        else:
            url = reverse("monitoring:call_detail", args=[call.pk])
            remember_submitted(request, request.POST.get("submit_token"), url)
            messages.success(request, _("紧急呼叫已办结。"))
            return redirect(url)
    else:
        data = form.service_data()  # what did parse: the service's errors are shown with the form's
        add_service_errors(form, refusal(lambda: call_close(actor=request.user, call=call, now=now, **data)))
    context = _detail_context(request, call, close_form=form)
    return render(request, "monitoring/call_detail.html", context, status=400)
