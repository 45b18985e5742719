"""Helper pairing (结对帮扶): monitored households get a responsible helper in bulk, by rule; a
helper who leaves hands their households on without losing any visit.

- ``unassigned_monitored(households)``: the monitored households (监测帮扶中, 兜底保障跟踪) with no
  responsible helper today — one query, the home page's to-do and the pairing page's count.
- ``pair_helpers``: pairs every unassigned monitored household of an area (a village or a
  township) with the county's helpers by :func:`monitoring.rules.pairing.plan_pairs` (own
  village, then the nearest village of the township, at most the county's
  ``helper_max_households`` each unless the page gives another limit); ``dry_run`` shows the
  plan and writes nothing. The assignments are written in bulk with their history rows
  (who, when, "批量结对").
- ``helper_leave``: the helper leaves on a date (their profile keeps the date); each of their
  current assignments ends that day (kept, with its history) and the households are paired
  again by the same rule from the next day. Visits point at the household and the helper who
  made them, so nothing of the visit record is lost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Area, AreaLevel, Role, area_prefix_q
from households.models import AssignmentKind, Helper, HelperAssignment, Household
from households.models import MonitoringStatus as HS

from ..county import county_code_of, settings_for
from ..rules.deadlines import local_date
from ..rules.pairing import Candidate, plan_pairs
from .audit import record_change, require_role

#: households that must have a responsible helper
NEEDS_HELPER = (HS.MONITORED, HS.SECURED_TRACKING)
#: who pairs helpers (in their own area) and records that a helper left
PAIR_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)
#: who reads the helpers' loads and visit records
READ_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)
MAX_LIMIT = 50
BACKDATE_DAYS = 366


def active_responsible(on: dt.date) -> QuerySet:
    return HelperAssignment.objects.filter(kind=AssignmentKind.RESPONSIBLE, start_date__lte=on).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=on)
    )


def unassigned_monitored(households: QuerySet, *, on: dt.date) -> QuerySet:
    """The monitored households of ``households`` with no responsible helper on ``on``."""
    helped = active_responsible(on).filter(household_id=OuterRef("pk"))
    return households.filter(monitoring_status__in=NEEDS_HELPER).exclude(Exists(helped))


def helper_loads(helpers: QuerySet, *, on: dt.date) -> QuerySet:
    """``helpers`` with ``load``: their responsible assignments running on ``on``."""
    running = Q(assignments__kind=AssignmentKind.RESPONSIBLE, assignments__start_date__lte=on) & (
        Q(assignments__end_date__isnull=True) | Q(assignments__end_date__gte=on)
    )
    return helpers.annotate(load=Count("assignments", filter=running))


def helpers_in_area(user, helpers: QuerySet, *, on: dt.date) -> QuerySet:
    """The helpers a user reads: those living in the user's areas, those helping a household
    there now, and, for county staff, the county's helpers with no village (organ cadres)."""
    if user.sees_everything:
        return helpers
    prefixes = user.scope_prefixes()
    if not prefixes or user.department_id:
        return helpers.none()
    counties = [p for p in prefixes if len(p) <= 6]
    if len(counties) == len(prefixes):  # county staff: every helper of their counties
        return helpers.filter(area_prefix_q("county__code", counties))
    q = area_prefix_q("village__code", prefixes)
    if counties:
        q |= Q(village__isnull=True) & area_prefix_q("county__code", counties)
    helping = (
        active_responsible(on).filter(area_prefix_q("household__area_code", prefixes)).values("helper_id")
    )
    q |= Q(pk__in=helping)
    return helpers.filter(q)


@dataclass
class PairingResult:
    pairs: list[tuple[Household, Helper]]
    unpaired: list[Household]
    limit: int
    start_date: dt.date
    written: bool


def _limit(limit, area_code: str, errors: dict) -> int:
    if limit in (None, ""):
        return settings_for(area_code).helper_max_households
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = _("每人最多户数应为1至%(max)d。") % {"max": MAX_LIMIT}
        return 0
    return limit


def _start(start_date, now: dt.datetime, errors: dict, field: str = "start_date") -> None:
    today = local_date(now)
    if start_date is None:
        errors[field] = _("请填写日期。")
    elif start_date > today + dt.timedelta(days=31):
        errors[field] = _("日期不能晚于一个月以后。")
    elif start_date < today - dt.timedelta(days=BACKDATE_DAYS):
        errors[field] = _("日期不能早于一年以前。")


def _lock_helpers(county_code: str) -> None:
    """Lock the county's helpers (in id order, so two callers never deadlock)."""
    list(Helper.objects.filter(county__code=county_code).order_by("pk").select_for_update().values_list("pk"))


def _pair(households: list[Household], *, county_code: str, exclude: set[int], limit: int, on: dt.date):
    """Plan the pairs of ``households`` among the county's helpers still working on ``on``
    (locked, so two people pairing at once cannot both fill the same helper)."""
    helpers = (
        Helper.objects.filter(county__code=county_code)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=on))
        .exclude(pk__in=exclude)
    )
    if not households:
        return [], []
    _lock_helpers(county_code)  # already held by the caller; kept here so no caller forgets
    rows = {h.pk: h for h in helpers.select_related("village").order_by("pk")}
    loads = dict(
        active_responsible(on)
        .filter(helper__in=helpers)
        .order_by()
        .values("helper_id")
        .annotate(n=Count("pk"))
        .values_list("helper_id", "n")
    )
    for h in rows.values():
        h.load = loads.get(h.pk, 0)
    plan = plan_pairs(
        [(h.pk, h.area_code) for h in households],
        [Candidate(h.pk, h.village.code if h.village_id else "", h.load) for h in rows.values()],
        limit,
    )
    by_id = {h.pk: h for h in households}
    return [(by_id[hh], rows[helper]) for hh, helper in plan.pairs], [by_id[i] for i in plan.unpaired]


def _write(pairs, *, actor, start_date: dt.date, reason: str) -> None:
    rows = [
        HelperAssignment(
            helper=helper, household=household, kind=AssignmentKind.RESPONSIBLE, start_date=start_date
        )
        for household, helper in pairs
    ]
    bulk_create_with_history(
        rows,
        HelperAssignment,
        default_user=actor if actor is not None and actor.pk else None,
        default_change_reason=reason,
    )


@transaction.atomic
def pair_helpers(
    *,
    actor,
    area: Area | None,
    start_date: dt.date | None,
    limit: int | None = None,
    dry_run: bool = False,
    now: dt.datetime,
) -> PairingResult:
    """Pair every unassigned monitored household of ``area`` (a village or a township)."""
    require_role(actor, *PAIR_ROLES)
    errors: dict[str, str] = {}
    if area is None or area.level not in (AreaLevel.VILLAGE, AreaLevel.TOWNSHIP):
        errors["area"] = _("请选择一个乡镇或村。")
    elif actor is not None and not actor.covers(area.code):
        raise NotAllowed(_("该地区不在您的工作区域内。"))
    value = _limit(limit, area.code if area is not None else "", errors)
    _start(start_date, now, errors)
    if errors:
        raise ValidationError(errors)
    # the county's helpers first: a second person pairing at the same moment waits here, then
    # reads the households the first one left unassigned
    _lock_helpers(county_code_of(area.code))
    households = list(
        unassigned_monitored(Household.objects.filter(area_code__startswith=area.prefix), on=start_date)
        .select_related("head", "village")
        .order_by("area_code", "number")
    )
    pairs, unpaired = _pair(
        households, county_code=county_code_of(area.code), exclude=set(), limit=value, on=start_date
    )
    if not dry_run and pairs:
        _write(pairs, actor=actor, start_date=start_date, reason=_("批量结对"))
    return PairingResult(pairs, unpaired, value, start_date, written=not dry_run and bool(pairs))


def _may_manage(actor, helper: Helper) -> None:
    if actor is None:
        return
    area = helper.village.code if helper.village_id else helper.county.code
    if not actor.covers(area):
        raise NotAllowed(_("该帮扶人不在您的工作区域内。"))


@transaction.atomic
def helper_leave(
    *,
    actor,
    helper: Helper,
    left_on: dt.date | None,
    reason: str,
    limit: int | None = None,
    now: dt.datetime,
) -> PairingResult:
    """The helper leaves on ``left_on``: their assignments end that day (kept), their monitored
    households are paired again from the next day by the county's rule."""
    require_role(actor, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER)
    helper = (
        Helper.objects.select_for_update(of=("self",)).select_related("village", "county").get(pk=helper.pk)
    )
    _may_manage(actor, helper)
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("请填写离岗原因。")
    _start(left_on, now, errors, field="left_on")
    if helper.left_on is not None:
        errors["left_on"] = _("该帮扶人已于%(date)s离岗。") % {"date": helper.left_on.isoformat()}
    value = _limit(limit, helper.county.code, errors)
    running = list(
        HelperAssignment.objects.select_for_update()
        .filter(helper=helper)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=left_on or dt.date.max))
        .select_related("household")
    )
    if left_on is not None and any(a.start_date > left_on for a in running):
        errors["left_on"] = _("离岗日期不能早于其帮扶关系的开始时间。")
    if errors:
        raise ValidationError(errors)
    helper.left_on = left_on
    helper._history_user = actor
    helper._change_reason = reason
    helper.save(update_fields=["left_on"])
    for assignment in running:
        assignment.end_date = left_on
        assignment._history_user = actor
        assignment._change_reason = _("帮扶人离岗：%(reason)s") % {"reason": reason}
        assignment.save(update_fields=["end_date"])
    record_change(
        obj=helper,
        object_type="helper",
        action="leave",
        from_status="active",
        to_status="left",
        actor=actor,
        reason=reason,
        data={"assignments_ended": len(running), "left_on": left_on.isoformat()},
        at=now,
    )
    start = left_on + dt.timedelta(days=1)
    _lock_helpers(helper.county.code)
    ids = [a.household_id for a in running if a.kind == AssignmentKind.RESPONSIBLE]
    households = list(
        unassigned_monitored(Household.objects.filter(pk__in=ids), on=start)
        .select_related("head", "village")
        .order_by("area_code", "number")
    )
    pairs, unpaired = _pair(
        households, county_code=helper.county.code, exclude={helper.pk}, limit=value, on=start
    )
    if pairs:
        _write(pairs, actor=actor, start_date=start, reason=_("帮扶人离岗后重新结对"))
    return PairingResult(pairs, unpaired, value, start, written=bool(pairs))
