"""The home page: what is each person's to do today, most urgent first.

Every block is one count and one bounded read (plus each county's settings once), so the page
makes the same number of queries whether there are 5 or 5,000 things waiting.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Role
from households.models import HelperAssignment, Household
from monitoring.models import (
    OPEN_CASE_STATUSES,
    AssistanceMeasure,
    CaseStep,
    Clue,
    ClueStatus,
    EmergencyCall,
    MeasureStatus,
    MonitoringCase,
    StepStatus,
)
from monitoring.rules import deadlines
from monitoring.rules.plans import IN_PLACE
from monitoring.services import pairing
from monitoring.services.assistance import MEASURE_DEADLINE_STATUSES, measure_deadline

from .common import PAGE_ROLES, STEP_ROLES, TRIAGE_ROLES, Clock, due
from .periodic import unread_for_home

LIMIT = 20
#: Visits due within this many days are listed (overdue ones always).
VISIT_WINDOW_DAYS = 7


def _steps_waiting(user, clock: Clock) -> dict:
    steps = CaseStep.objects.for_user(user).filter(
        status=StepStatus.AVAILABLE, case__status__in=OPEN_CASE_STATUSES
    )
    if not user.is_superuser:
        steps = steps.filter(actor_role=user.role)
    steps = steps.select_related("case__household__head", "case__household__village").order_by(
        F("due_date").asc(nulls_last=True), "id"
    )
    rows = list(steps[:LIMIT])
    for step in rows:
        step.due_info = clock.deadline(step.due_date, step.case.area_code, step=True)
    return {"rows": rows, "total": steps.count()}


def _visits_due(user, clock: Clock) -> dict:
    cases = MonitoringCase.objects.open().filter(
        next_visit_due__isnull=False, next_visit_due__lte=clock.today + dt.timedelta(days=VISIT_WINDOW_DAYS)
    )
    if user.role == Role.HELPER and not user.is_superuser:
        assigned = (
            HelperAssignment.objects.active(clock.today).filter(helper__user=user).values("household_id")
        )
        cases = cases.filter(household_id__in=assigned)
    else:
        cases = cases.for_user(user)
    cases = cases.select_related("household__head", "household__village").order_by("next_visit_due", "id")
    rows = list(cases[:LIMIT])
    for case in rows:
        case.due_info = clock.deadline(case.next_visit_due, case.area_code)
    return {"rows": rows, "total": cases.count()}


def _clues_to_triage(user, clock: Clock) -> dict:
    clues = (
        Clue.objects.for_user(user)
        .filter(status__in=[ClueStatus.UNMATCHED, ClueStatus.PENDING])
        .select_related("department", "household__head")
        .order_by("found_date", "id")
    )
    rows = list(clues[:LIMIT])
    for clue in rows:
        # the identification clock runs from the clue's date, triage included
        county_settings, cal = clock.county(clue.area_code)
        due_date = deadlines.add_days(clue.found_date, clock.identification_limit(clue.area_code), cal)
        clue.due_info = clock.deadline(due_date, clue.area_code)
    return {"rows": rows, "total": clues.count()}


def _unassigned(user, clock: Clock) -> dict:
    """How many monitored households have no responsible helper today (one count; the list is
    /helpers/unassigned/)."""
    return {"total": pairing.unassigned_monitored(Household.objects.for_user(user), on=clock.today).count()}


def _measures_overdue(user, clock: Clock) -> dict:
    late = (
        AssistanceMeasure.objects.for_user(user)
        .filter(status__in=[MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS], planned_end__lt=clock.today)
        .select_related("case__household__head", "measure", "department")
        .order_by("planned_end", "id")
    )
    late_rows = list(late[:LIMIT])
    for am in late_rows:
        am.days_late = (clock.today - am.planned_end).days
    # Cases with no measure in place yet, oldest first: the one-month deadline runs from
    # identification (or the green channel); whether it is missed is the deadline module's call.
    in_place = AssistanceMeasure.objects.filter(case=OuterRef("pk"), status__in=IN_PLACE)
    waiting = (
        MonitoringCase.objects.for_user(user)
        .filter(status__in=MEASURE_DEADLINE_STATUSES)
        .filter(Q(identified_on__isnull=False) | Q(provisional_on__isnull=False))
        .filter(~Exists(in_place))
        .select_related("household__head")
        .order_by(Coalesce("provisional_on", "identified_on"), "id")
    )
    without = []
    for case in waiting[:LIMIT]:
        d = measure_deadline(case, clock.settings(case.area_code), clock.now, in_place=False)
        if d.state in ("overdue", "due_soon"):
            case.due_info = due(d)
            without.append(case)
    total = late.count()
    return {"late": late_rows, "total": total + len(without), "without": without}


def _calls_active(user) -> dict:
    """The emergency calls in progress in the person's area (a helper: their households)."""
    calls = (
        EmergencyCall.objects.for_user(user)
        .active()
        .select_related("household__head", "household__village")
        .order_by("status", "-raised_at", "-id")
    )
    rows = list(calls[:5])
    return {"rows": rows, "total": len(rows) if len(rows) < 5 else calls.count()}


@login_required
def home(request):
    user = request.user
    notifications = unread_for_home(user)  # the total comes from the nav's count
    if not user.has_role(*PAGE_ROLES):
        # Departments work through the API; their home page says so instead of refusing.
        return render(request, "home.html", {"api_only": True, "notifications": notifications})
    clock = Clock(timezone.now())
    context = {"today": clock.today, "notifications": notifications}
    if user.has_role(Role.VILLAGE_CADRE, Role.HELPER, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER):
        context["calls"] = _calls_active(user)
    if user.has_role(*STEP_ROLES):
        context["steps"] = _steps_waiting(user, clock)
    if user.has_role(Role.HELPER, Role.VILLAGE_CADRE):
        context["visits"] = _visits_due(user, clock)
    if user.has_role(*TRIAGE_ROLES):
        context["clues"] = _clues_to_triage(user, clock)
    if user.has_role(Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER):
        context["measures"] = _measures_overdue(user, clock)
    if user.has_role(*pairing.PAIR_ROLES):
        context["unassigned"] = _unassigned(user, clock)
    return render(request, "home.html", context)
