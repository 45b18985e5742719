"""The household page (/households/<pk>/) and the helper's own households (/households/mine/).

The household page shows registry and monitoring data together, so it is served by the
workflow (``households`` must not import ``monitoring``). Views parse input, call one service
and render; reads go through ``for_user`` (a household outside the person's area is a 404).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.errors import ServiceError, ValidationError
from accounts.models import Role
from households import idnumber
from households.api import reveals_identity
from households.models import HelperAssignment, Household
from households.selectors import change_history
from monitoring.county import settings_for, threshold_for
from monitoring.models import AssistanceMeasure, MonitoringCase, Visit
from monitoring.rules import deadlines
from monitoring.services.visits import (
    GUARANTEE_FIELDS,
    case_visit_deadline,
    monitoring_start,
    visit_due,
)

SERVICE_ERRORS = (ValidationError, ServiceError)
VISIT_ROLES = (Role.VILLAGE_CADRE, Role.HELPER)
CLUE_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.HELPER)
EDIT_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)
RECENT_VISITS = 5


def household_for(request, pk: int) -> Household:
    return get_object_or_404(
        # the village's full name walks up to the county (and stops at the city)
        Household.objects.for_user(request.user).select_related("village__parent__parent__parent", "head"),
        pk=pk,
    )


def guarantees(obj) -> list[tuple[str, bool]]:
    return [(obj._meta.get_field(name).verbose_name, getattr(obj, name)) for name in GUARANTEE_FIELDS]


# --- the household page ----------------------------------------------------------------------


def household_facts(household: Household, user, *, now: dt.datetime) -> dict:
    """What the household page and the printable household card show: members, income
    against the line, guarantees, cases and risks, measures, the last visits, helpers and
    contacts, with ID numbers and phones masked as the user's role requires."""
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

    return {
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
        "guarantees": guarantees(household),
        "cases": cases,
        "open_case": open_case,
        "measures": measures,
        "clues": clues,
        "visits": visits,
        "visit_total": visit_total,
        "next_visit": next_visit,
        "assignments": assignments,
    }


@login_required
def household_detail(request, pk: int):
    household = household_for(request, pk)
    user = request.user
    reveal = reveals_identity(user)
    return render(
        request,
        "monitoring/household_detail.html",
        {
            **household_facts(household, user, now=timezone.now()),
            "history": change_history(household, reveal=reveal),
            "can_edit": user.has_role(*EDIT_ROLES),
            "can_visit": user.has_role(*VISIT_ROLES),
            "can_clue": user.has_role(*CLUE_ROLES),
        },
    )


@login_required
def household_card(request, pk: int):
    """The printable household card (一户一卡), A4, in Chinese as posted unless the reader asks
    for their own language (``?lang=en``); scoped like the household page."""
    household = household_for(request, pk)
    languages = {code for code, _name in settings.LANGUAGES}
    card_language = (
        request.GET.get("lang") if request.GET.get("lang") in languages else settings.LANGUAGE_CODE
    )
    now = timezone.now()
    return render(
        request,
        "monitoring/household_card.html",
        {
            **household_facts(household, request.user, now=now),
            "card_language": card_language,
            "printed_on": deadlines.local_date(now),
        },
    )


# --- the helper's households -----------------------------------------------------------------


def _by_next_visit(row: dict) -> tuple:
    """The earliest visit due first; households with no visit due (no open case, or a case
    whose visits have not started) after them, in household-number order."""
    due = row["due"].due if row["due"] is not None else None
    return (due is None, due or dt.date.max, row["household"].number)


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
    rows.sort(key=_by_next_visit)
    return render(request, "monitoring/household_mine.html", {"rows": rows, "today": today})
