"""Registry pages for village cadres: find a household, register it and its members, enter a
year's income.

Views parse input, call one service and render. Every page that takes an id reads it through
``for_user`` (so a household outside the person's area is a 404, never a 403); the services
check the actor's role and area again. The household page itself shows monitoring data, so it
lives in ``monitoring/views_visits.py`` (this app must not import monitoring).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import staff_page
from accounts.errors import ServiceError, ValidationError
from accounts.models import Area, AreaLevel, Role
from config.forms import add_service_errors, already_submitted, refusal, remember_submitted

from . import search_terms, services
from .filters import HouseholdFilter, area_options
from .forms import HouseholdPageForm, IncomePageForm, PersonPageForm, show_service_error
from .models import Household, HouseholdType, IncomeRecord, MonitoringStatus, Person

PAGE_SIZE = 50
SERVICE_ERRORS = (ValidationError, ServiceError)


def _household_url(household: Household) -> str:
    # The household page is served by the monitoring app (it shows cases and visits).
    return reverse("monitoring:household_detail", args=[household.pk])


def _scoped_household(request, pk: int) -> Household:
    return get_object_or_404(
        Household.objects.for_user(request.user).select_related("village", "village__parent", "head"), pk=pk
    )


def _require_registry_role(user) -> None:
    """Only the roles that keep the registry get its forms (the services check again)."""
    if not user.has_role(*services.REGISTRY_ROLES):
        raise PermissionDenied(_("您的角色不能修改农户信息。"))


def _villages(user):
    return Area.objects.for_user(user).filter(level=AreaLevel.VILLAGE).select_related("parent")


def _ask_service_too(form, call) -> None:
    """The form has errors of its own: try the service with what did parse (nothing is
    written), so the person sees the service's messages in the same round."""
    add_service_errors(form, refusal(call))


def _submitted(request, form, url: str, message: str):
    remember_submitted(request, request.POST.get("submit_token"), url)
    messages.success(request, message)
    return redirect(url)


# --- list ------------------------------------------------------------------------------------


@staff_page
def household_list(request):
    """Search by name, household number or ID number; masked ID numbers; a fixed number of
    queries whatever the page length. An ID number never shows in the address
    (:mod:`households.search_terms`)."""
    if request.method == "POST":
        return search_terms.post_to_get(request)
    query, redirect_to = search_terms.page_query(request)
    if redirect_to is not None:
        return redirect_to
    resident_count = (
        Person.objects.filter(household=OuterRef("pk"), is_resident=True)
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    queryset = (
        Household.objects.for_user(request.user)
        .select_related("village", "village__parent", "head")
        .annotate(resident_count=Coalesce(Subquery(resident_count), Value(0), output_field=IntegerField()))
        .order_by("number")
    )
    filterset = HouseholdFilter(query or None, queryset=queryset, request=request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "households/household_list.html",
        {
            "filterset": filterset,
            "page_obj": page,
            "households": page.object_list,
            "areas": area_options(
                list(_villages(request.user)) if request.user.role != Role.HELPER else [],
                township=str((query or {}).get("township") or ""),
                village=str((query or {}).get("village") or ""),
            ),
            "household_types": HouseholdType.choices,
            "statuses": [("none" if v == "" else v, label) for v, label in MonitoringStatus.choices],
            "q": query,
            "can_edit": request.user.has_role(*services.REGISTRY_ROLES),
        },
    )


# --- household -------------------------------------------------------------------------------


def _posted(request):
    """The submitted data on a POST (an empty POST too, so that it is checked and answered
    field by field), none on a GET."""
    return request.POST if request.method == "POST" else None


@login_required
@require_http_methods(["GET", "POST"])
def household_create(request):
    _require_registry_role(request.user)
    villages = _villages(request.user)
    form = HouseholdPageForm(
        _posted(request), villages=villages, suggestion_url=reverse("households:number_suggestion")
    )
    if request.method == "POST":
        if done := already_submitted(request, request.POST.get("submit_token")):
            return done
        if form.is_valid():
            try:
                household = services.household_create(actor=request.user, **form.service_data())
            except SERVICE_ERRORS as exc:
                show_service_error(form, exc)
            else:
                url = reverse("households:member_add", args=[household.pk])
                return _submitted(
                    request,
                    form,
                    url,
                    _("农户 %(number)s 已登记，请添加家庭成员（先添加户主）。")
                    % {"number": household.number},
                )
        else:
            data = {"number": "", "village": None, **form.service_data()}
            _ask_service_too(form, lambda: services.household_create(actor=request.user, **data))
    return render(request, "households/household_form.html", {"form": form, "household": None})


@login_required
@require_http_methods(["GET"])
def number_suggestion(request):
    """The registration form's number field for the chosen village (htmx swaps it in): the
    village's next free number, or the number typed by hand with the suggestion as a hint."""
    _require_registry_role(request.user)
    form = HouseholdPageForm(villages=_villages(request.user))
    raw = request.GET.get("village") or ""
    village = form.fields["village"].queryset.filter(pk=raw).first() if raw.isdigit() else None
    typed = request.GET.get("number") or ""
    if village is not None:
        form.suggest_for(village, typed=typed, previous=request.GET.get("suggested_number") or "")
    else:
        form.initial["number"] = typed
    return render(request, "households/_number_field.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def household_edit(request, pk: int):
    household = _scoped_household(request, pk)
    _require_registry_role(request.user)
    form = HouseholdPageForm(_posted(request), instance=household, villages=_villages(request.user))
    if request.method == "POST":
        if done := already_submitted(request, request.POST.get("submit_token")):
            return done
        if form.is_valid():
            try:
                services.household_update(
                    actor=request.user,
                    household=household,
                    reason=form.cleaned_data.get("reason", ""),
                    **form.service_data(),
                )
            except SERVICE_ERRORS as exc:
                show_service_error(form, exc)
            else:
                return _submitted(request, form, _household_url(household), _("农户信息已保存。"))
        else:
            data = form.service_data()
            _ask_service_too(
                form, lambda: services.household_update(actor=request.user, household=household, **data)
            )
    return render(request, "households/household_form.html", {"form": form, "household": household})


# --- members ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def member_add(request, pk: int):
    household = _scoped_household(request, pk)
    _require_registry_role(request.user)
    initial = {} if household.head_id else {"relation": "head"}
    form = PersonPageForm(_posted(request), initial=initial)
    if request.method == "POST":
        if done := already_submitted(request, request.POST.get("submit_token")):
            return done
        if form.is_valid():
            try:
                person = services.person_add(actor=request.user, household=household, **form.service_data())
            except SERVICE_ERRORS as exc:
                show_service_error(form, exc)
            else:
                more = "add_another" in request.POST
                url = reverse("households:member_add", args=[pk]) if more else _household_url(household)
                return _submitted(request, form, url, _("已添加家庭成员 %(name)s。") % {"name": person.name})
        else:
            data = {"id_number": "", "name": "", **form.service_data()}
            _ask_service_too(
                form, lambda: services.person_add(actor=request.user, household=household, **data)
            )
    return render(
        request,
        "households/member_form.html",
        {"form": form, "household": household, "person": None, "members": household.members.all()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_edit(request, pk: int, person_pk: int):
    household = _scoped_household(request, pk)
    person = get_object_or_404(Person.objects.for_user(request.user), pk=person_pk, household=household)
    _require_registry_role(request.user)
    form = PersonPageForm(_posted(request), instance=person)
    if request.method == "POST":
        if done := already_submitted(request, request.POST.get("submit_token")):
            return done
        if form.is_valid():
            try:
                services.person_update(
                    actor=request.user,
                    person=person,
                    reason=form.cleaned_data.get("reason", ""),
                    **form.service_data(),
                )
            except SERVICE_ERRORS as exc:
                show_service_error(form, exc)
            else:
                return _submitted(
                    request,
                    form,
                    _household_url(household),
                    _("已保存成员 %(name)s 的信息。") % {"name": person.name},
                )
        else:
            data = form.service_data()
            _ask_service_too(form, lambda: services.person_update(actor=request.user, person=person, **data))
    return render(
        request,
        "households/member_form.html",
        {"form": form, "household": household, "person": person, "members": None},
    )


# --- income ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def income_edit(request, pk: int):
    """Enter (or correct) one year's income; ``?year=`` opens a recorded year."""
    household = _scoped_household(request, pk)
    _require_registry_role(request.user)
    records = list(household.incomes.order_by("-year"))
    if request.method == "POST":
        form = IncomePageForm(request.POST, household=household)
        if done := already_submitted(request, request.POST.get("submit_token")):
            return done
        if form.is_valid():
            data = form.cleaned_data
            try:
                record = services.income_record_set(
                    actor=request.user,
                    household=household,
                    year=data["year"],
                    recorded_on=data.get("recorded_on"),
                    note=data.get("note", ""),
                    **form.amounts(),
                )
            except SERVICE_ERRORS as exc:
                show_service_error(form, exc)
            else:
                if record.per_capita_net_income is None:
                    text = _("已保存%(year)s年度收支情况；该户没有常住人口，无法计算人均纯收入。")
                else:
                    text = _("已保存%(year)s年度收支情况，人均纯收入 %(pc)s 元。")
                message = text % {"year": record.year, "pc": record.per_capita_net_income}
                return _submitted(request, form, _household_url(household) + "#income", message)
        else:
            data = form.cleaned_data
            _ask_service_too(
                form,
                lambda: services.income_record_set(
                    actor=request.user,
                    household=household,
                    year=data.get("year") or "",
                    recorded_on=data.get("recorded_on"),
                    note=data.get("note", ""),
                    **form.amounts(),
                ),
            )
    else:
        opened = _open_year(records, request.GET.get("year"))
        initial = {"year": timezone.localdate().year - 1, "recorded_on": timezone.localdate()}
        if opened is not None:
            initial = {
                "year": opened.year,
                "loaded_year": str(opened.year),
                "recorded_on": opened.recorded_on,
                "note": opened.note,
                **{name: getattr(opened, name) for name in services.INCOME_FIELDS},
            }
        form = IncomePageForm(initial=initial, household=household)
    return render(
        request,
        "households/income_form.html",
        {
            "form": form,
            "household": household,
            "records": records,
            "residents": household.members.filter(is_resident=True).count(),
        },
    )


def _open_year(records: list[IncomeRecord], raw: str | None) -> IncomeRecord | None:
    if not raw:
        return None
    return next((r for r in records if str(r.year) == raw.strip()), None)
