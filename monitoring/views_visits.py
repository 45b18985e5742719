"""The household page, the helper's households and the visit form.

The household page shows registry and monitoring data together, so it is served from here
(``households`` must not import ``monitoring``). Views parse input, call one service and
render; reads go through ``for_user`` (a household outside the person's area is a 404) and
the deadline rules of ``monitoring.services.visits``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import BooleanField, OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.errors import ServiceError, ValidationError
from accounts.models import Area, Role
from config.forms import already_submitted, remember_submitted
from households import idnumber
from households.api import reveals_identity
from households.models import HelperAssignment, Household, IncomeRecord, Person
from monitoring import deadlines
from monitoring.forms_visits import VisitForm
from monitoring.models import AssistanceMeasure, MonitoringCase, Visit
from monitoring.services.visits import (
    GUARANTEE_FIELDS,
    case_visit_deadline,
    monitoring_start,
    visit_due,
    visit_record,
)
from monitoring.settings import settings_for, threshold_for

SERVICE_ERRORS = (ValidationError, ServiceError)
VISIT_ROLES = (Role.VILLAGE_CADRE, Role.HELPER)
CLUE_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.HELPER)
EDIT_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)
RECENT_VISITS = 5


def _household(request, pk: int) -> Household:
    return get_object_or_404(
        Household.objects.for_user(request.user).select_related("village", "village__parent", "head"), pk=pk
    )


def _guarantees(obj) -> list[tuple[str, bool]]:
    return [(obj._meta.get_field(name).verbose_name, getattr(obj, name)) for name in GUARANTEE_FIELDS]


# --- the household page ----------------------------------------------------------------------


@login_required
def household_detail(request, pk: int):
    household = _household(request, pk)
    user = request.user
    now = timezone.now()
    today = deadlines.local_date(now)
    reveal = reveals_identity(user)

    members = list(household.members.all())
    for person in members:
        person.age = idnumber.age_on(person.birth_date, today)
        person.id_shown = person.id_number if reveal else person.id_number_masked

    incomes = list(household.incomes.order_by("-year"))
    thresholds = {year: threshold_for(household.area_code, year) for year in {r.year for r in incomes}}
    income_rows = []
    for record in incomes:
        threshold = thresholds.get(record.year)
        below = (
            threshold is not None
            and record.per_capita_net_income is not None
            and record.per_capita_net_income < threshold.amount
        )
        income_rows.append({"record": record, "threshold": threshold, "below": below})

    cases = list(household.cases.prefetch_related("risk_types").order_by("-opened_at", "-id"))
    open_case = next((c for c in cases if c.is_open), None)
    measures = list(
        AssistanceMeasure.objects.filter(case__household=household)
        .select_related("measure", "measure__category", "department")
        .order_by("-case__opened_at", "id")
    )
    clues = list(household.clues.prefetch_related("risk_types").order_by("-found_date", "-id")[:10])
    visits = list(
        household.visits.select_related("helper", "visited_by", "raised_clue").order_by("-visited_on", "-id")[
            :RECENT_VISITS
        ]
    )
    visit_total = household.visits.count()
    last_visit = visits[0].visited_on if visits else None
    next_visit = case_visit_deadline(open_case, now=now, last_visit=last_visit) if open_case else None

    assignments = list(household.helper_assignments.select_related("helper").order_by("-start_date", "-id"))
    for a in assignments:
        a.is_current = a.start_date <= today and (a.end_date is None or a.end_date >= today)
        a.phone_shown = a.helper.phone if reveal else idnumber.mask_phone(a.helper.phone)

    return render(
        request,
        "monitoring/household_detail.html",
        {
            "household": household,
            "phone_shown": household.phone if reveal else household.phone_masked,
            "contact_phone_shown": (
                household.monitoring_contact_phone
                if reveal
                else idnumber.mask_phone(household.monitoring_contact_phone)
            ),
            "reveal": reveal,
            "members": members,
            "income_rows": income_rows,
            "guarantees": _guarantees(household),
            "cases": cases,
            "open_case": open_case,
            "measures": measures,
            "clues": clues,
            "visits": visits,
            "visit_total": visit_total,
            "next_visit": next_visit,
            "assignments": assignments,
            "history": change_history(household, reveal=reveal),
            "can_edit": user.has_role(*EDIT_ROLES),
            "can_visit": user.has_role(*VISIT_ROLES),
            "can_clue": user.has_role(*CLUE_ROLES),
        },
    )


# --- the helper's households -----------------------------------------------------------------


@login_required
def my_households(request):
    """The households assigned to the signed-in helper, the most urgent visit first."""
    now = timezone.now()
    today = deadlines.local_date(now)
    last_visit = (
        Visit.objects.filter(household=OuterRef("household")).order_by("-visited_on").values("visited_on")[:1]
    )
    assignments = list(
        HelperAssignment.objects.active(on=today)
        .filter(helper__user=request.user)
        .select_related("household", "household__village", "household__village__parent", "household__head")
        .annotate(last_visit=Subquery(last_visit))
        .order_by("household__number", "id")
    )
    households: dict[int, HelperAssignment] = {}
    for a in assignments:
        households.setdefault(a.household_id, a)
    cases = {
        c.household_id: c for c in MonitoringCase.objects.open().filter(household_id__in=list(households))
    }
    county_settings: dict[str, object] = {}
    rows = []
    for a in households.values():
        case = cases.get(a.household_id)
        due = None
        if case is not None:
            county = case.area_code[:6]
            if county not in county_settings:
                county_settings[county] = settings_for(case.area_code)
            s = county_settings[county]
            due = visit_due(
                a.last_visit,
                monitoring_start(case),
                s.visit_interval_days,
                case.status,
                now,
                due_soon_days=s.due_soon_days,
            )
        rows.append({"assignment": a, "household": a.household, "case": case, "due": due})
    far = dt.date.max
    rows.sort(key=lambda r: (r["due"] is None or r["due"].due is None, r["due"].due if r["due"] else far))
    return render(request, "monitoring/household_mine.html", {"rows": rows, "today": today})


# --- visits ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def visit_create(request, pk: int):
    household = _household(request, pk)
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
            "last_guarantees": _guarantees(last) if last else [],
            "open_case": open_case,
            "next_visit": next_visit,
        },
    )


@login_required
def visit_list(request, pk: int):
    household = _household(request, pk)
    visits = household.visits.select_related("helper", "visited_by", "raised_clue").order_by(
        "-visited_on", "-id"
    )
    page = Paginator(visits, 20).get_page(request.GET.get("page"))
    for visit in page.object_list:
        visit.guarantees = _guarantees(visit)
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


# --- change history --------------------------------------------------------------------------
# A read of the registry's history for the household page (who, when, what changed); it
# would sit in a households selector module, which this change could not add.

ACTIONS = {"+": gettext_lazy("新增"), "~": gettext_lazy("修改"), "-": gettext_lazy("删除")}
SKIPPED = {"id", "created_at", "updated_at", "area_code"}
PHONES = {"phone", "monitoring_contact_phone"}


def _diff(record, before) -> list[tuple[str, object, object]]:
    """``diff_against`` the previous row, plus the computed (non-editable) fields it leaves
    out, such as the per-capita income, the birth date and the sex."""
    changes = [(c.field, c.old, c.new) for c in record.diff_against(before, excluded_fields=SKIPPED).changes]
    for field in record.tracked_fields:
        if field.editable or field.name in SKIPPED:
            continue
        old, new = getattr(before, field.attname), getattr(record, field.attname)
        if old != new:
            changes.append((field.name, old, new))
    return changes


def change_history(household: Household, *, reveal: bool) -> list[dict]:
    """Every history row of the household, its members and its income records, newest first,
    each with the fields it changed (``diff_against`` the same object's previous row).

    A fixed number of queries: one per history table, and one per kind of related row named
    in a change (villages, people, households).
    """
    sources = (
        (Household, household.history.select_related("history_user"), lambda r: r.number, _("农户")),
        (
            Person,
            Person.history.filter(household_id=household.pk).select_related("history_user"),
            lambda r: r.name,
            _("家庭成员"),
        ),
        (
            IncomeRecord,
            IncomeRecord.history.filter(household_id=household.pk).select_related("history_user"),
            lambda r: _("%(year)s年度") % {"year": r.year},
            _("收支情况"),
        ),
    )
    entries: list[dict] = []
    wanted: dict[type, set] = defaultdict(set)
    for model, rows, name_of, kind in sources:
        previous: dict[int, object] = {}
        for record in sorted(rows, key=lambda r: (r.history_date, r.history_id)):
            before = previous.get(record.id)
            changes = []
            if before is not None and record.history_type == "~":
                for name, old, new in sorted(
                    _diff(record, before), key=lambda c: _field_position(model, c[0])
                ):
                    field = model._meta.get_field(name)
                    if field.is_relation:
                        wanted[field.related_model].update(v for v in (old, new) if v)
                    changes.append((model, field, old, new))
            previous[record.id] = record
            entries.append(
                {
                    "at": record.history_date,
                    "who": record.history_user,
                    "kind": kind,
                    "name": name_of(record),
                    "action": ACTIONS.get(record.history_type, record.history_type),
                    "reason": record.history_change_reason or "",
                    "raw_changes": changes,
                }
            )
    names = _related_names(wanted)
    for entry in entries:
        entry["changes"] = [
            {
                "field": field.verbose_name,
                "old": _display(field, old, reveal=reveal, names=names),
                "new": _display(field, new, reveal=reveal, names=names),
            }
            for _model, field, old, new in entry.pop("raw_changes")
        ]
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries


def _field_position(model, name: str) -> int:
    names = [f.name for f in model._meta.concrete_fields]
    return names.index(name) if name in names else len(names)


def _related_names(wanted: dict[type, set]) -> dict[tuple[type, object], str]:
    names: dict[tuple[type, object], str] = {}
    label_field = {Area: "name", Person: "name", Household: "number"}
    for model, pks in wanted.items():
        field = label_field.get(model)
        if field is None or not pks:
            continue
        for pk, label in model._default_manager.filter(pk__in=pks).values_list("pk", field):
            names[(model, pk)] = label
    return names


def _display(field, value, *, reveal: bool, names: dict) -> str:
    if field.is_relation:
        if value in (None, ""):
            return "—"
        return names.get((field.related_model, value), f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value)) if value is not None else "—"
    if isinstance(field, BooleanField):
        return _("是") if value else _("否")
    if value in (None, ""):
        return "—"
    if field.name == "id_number" and not reveal:
        return idnumber.mask(value)
    if field.name == "birth_date" and not reveal:  # the part of the ID number the mask hides
        return "****"
    if field.name in PHONES and not reveal:
        return idnumber.mask_phone(value)
    return str(value)
