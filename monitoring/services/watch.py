"""The daily watches: deadlines, visits and measures.

Each watch is set-based: one query per kind finds what is due soon or overdue, breaches are
recorded in bulk (once per deadline: unique constraints), and notifications are keyed by what
they are about, so running a watch twice sends nothing the second time. Python only turns the
found rows into messages for the people who must act.

- :func:`deadline_watch`: steps and cases due within the county's ``due_soon_days`` → whoever
  must act; overdue → the same people, and every new breach to the level above (village →
  township → county) once.
- :func:`visit_watch`: monitored households whose helper visit is overdue → their helpers and
  village cadres, a ``visit`` breach escalated to the township.
- :func:`measure_watch`: households identified more than ``measure_deadline_days`` ago with no
  measure in place (in progress or implemented) → village cadres, a ``measure`` breach
  escalated to the township.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from accounts.models import PREFIX_LENGTH, Area, AreaLevel, NotificationKind, Role
from accounts.notifications import LEVEL_ROLE, Message, notify, users_at
from accounts.texts import text
from households.models import HelperAssignment, Household
from monitoring.county import calendar_for, county_code_of, scope_prefix, settings_for
from monitoring.models import (
    AssistanceMeasure,
    Breach,
    CaseStatus,
    CaseStep,
    MeasureStatus,
    MonitoringCase,
    StepStatus,
)
from monitoring.models.reference import CountySettings
from monitoring.rules import deadlines
from monitoring.services.breaches import breaches_record
from monitoring.services.visits import VISIT_DUE_STATUSES

CHUNK = 2000
IDENTIFYING = (CaseStatus.IDENTIFYING, CaseStatus.PROVISIONAL)
MEASURE_DUE_STATUSES = (CaseStatus.MONITORED, CaseStatus.SECURED_TRACKING)
IN_PLACE = (MeasureStatus.IN_PROGRESS, MeasureStatus.IMPLEMENTED)

#: Notification titles (msgids; ``v`` village, ``h`` household, ``d`` due date, ``s`` step).
OVERDUE = {
    "case": N_("已超期：%(v)s%(h)s户的识别程序应于%(d)s前办结"),
    "exit": N_("已超期：%(v)s%(h)s户的风险消除程序应于%(d)s前办结"),
}
DUE_SOON = {
    "case": N_("即将到期：%(v)s%(h)s户的识别程序须于%(d)s前办结"),
    "exit": N_("即将到期：%(v)s%(h)s户的风险消除程序须于%(d)s前办结"),
}
ESCALATED = {
    "step": N_("超期督办：%(v)s%(h)s户「%(s)s」超过期限%(d)s"),
    "case": N_("超期督办：%(v)s%(h)s户的识别程序超过期限%(d)s"),
    "exit": N_("超期督办：%(v)s%(h)s户的风险消除程序超过期限%(d)s"),
    "visit": N_("超期督办：%(v)s%(h)s户的帮扶走访超过期限%(d)s"),
    "measure": N_("超期督办：%(v)s%(h)s户的帮扶措施落实超过期限%(d)s"),
}


def code_at(area_code: str, level: str) -> str:
    """The 12-digit code of the area at ``level`` that contains the village ``area_code``."""
    return area_code[: PREFIX_LENGTH[level]].ljust(12, "0")


def household_names(ids) -> dict[int, dict[str, str]]:
    """Household id → the parameters naming it in a message: ``h`` the head's name (the
    household number when it has no head) and ``v`` its village."""
    ids = sorted(set(ids))
    out: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = Household.objects.filter(pk__in=ids[start : start + CHUNK]).values_list(
            "pk", "number", "head__name", "village__name"
        )
        for pk, number, head, village in rows:
            out[pk] = {"h": head or number, "v": village or ""}
    return out


def url_for(name: str):
    """``reverse(name, args=[pk])`` as a function of ``pk``, resolved once (a watch builds
    tens of thousands of links)."""
    marker = 987654321
    pattern = reverse(name, args=[marker])
    head, tail = pattern.split(str(marker), 1)
    return lambda pk: f"{head}{pk}{tail}"


class _CountyRules:
    """Each county's due-soon days and calendar, read once per county."""

    def __init__(self):
        self.cache: dict[str, tuple[int, deadlines.WorkCalendar]] = {}

    def __call__(self, area_code: str) -> tuple[int, deadlines.WorkCalendar]:
        county = county_code_of(area_code)
        if county not in self.cache:
            county_settings = settings_for(county)
            self.cache[county] = (county_settings.due_soon_days, calendar_for(county, county_settings))
        return self.cache[county]


def _horizon(today: dt.date) -> dt.date:
    """Every deadline that can be due soon anywhere is on or before this day (working-day
    counties count fewer days than the calendar, hence the margin)."""
    longest = max(
        [CountySettings().due_soon_days, *CountySettings.objects.values_list("due_soon_days", flat=True)]
    )
    return today + dt.timedelta(days=2 * longest + 14)


def _scope(qs, field: str, area_code: str):
    return qs.filter(**{f"{field}__startswith": scope_prefix(area_code)}) if area_code else qs


class _Recipients:
    """Users by (role, area code), loaded once per role for all codes needed."""

    def __init__(self):
        self.wanted: dict[str, set[str]] = defaultdict(set)
        self.found: dict[str, dict[str, list[int]]] = {}

    def want(self, role: str, code: str) -> None:
        self.wanted[role].add(code)

    def load(self) -> None:
        for role, codes in self.wanted.items():
            self.found[role] = users_at(role, codes)

    def get(self, role: str, code: str) -> list[int]:
        return self.found.get(role, {}).get(code, [])


# ---------------------------------------------------------------------------------------------
# Deadline watch
# ---------------------------------------------------------------------------------------------


def deadline_watch(*, now: dt.datetime | None = None, area_code: str = "") -> dict:
    now = now or timezone.now()
    today = deadlines.local_date(now)
    rules = _CountyRules()
    with transaction.atomic():
        recorded = breaches_record(now=now, area_prefix=scope_prefix(area_code) if area_code else "")
        horizon = _horizon(today)
        steps = _scope(
            CaseStep.objects.filter(
                status=StepStatus.AVAILABLE,
                due_date__lte=horizon,
                case__status__in=[
                    CaseStatus.IDENTIFYING,
                    CaseStatus.PROVISIONAL,
                    CaseStatus.EXIT_IN_PROGRESS,
                ],
            ),
            "case__area_code",
            area_code,
        ).values_list(
            "pk",
            "case_id",
            "case__area_code",
            "case__household_id",
            "name",
            "actor_role",
            "area_level",
            "due_date",
            "name_en",
        )
        cases = _scope(
            MonitoringCase.objects.filter(status__in=IDENTIFYING, due_date__lte=horizon),
            "area_code",
            area_code,
        ).values_list("pk", "area_code", "household_id", "due_date")
        exits = _scope(
            MonitoringCase.objects.filter(status=CaseStatus.EXIT_IN_PROGRESS, exit_due_date__lte=horizon),
            "area_code",
            area_code,
        ).values_list("pk", "area_code", "household_id", "exit_due_date")
        rows = list(steps.iterator(chunk_size=CHUNK))
        case_rows = [("case", *r) for r in cases.iterator(chunk_size=CHUNK)]
        case_rows += [("exit", *r) for r in exits.iterator(chunk_size=CHUNK)]
        who = _Recipients()
        for _pk, _case, area, _hid, _name, role, level, _due, _en in rows:
            who.want(role, code_at(area, level))
        for _kind, _pk, area, _number, _due in case_rows:
            who.want(Role.COUNTY_APPROVER, code_at(area, AreaLevel.COUNTY))
        who.load()
        names = household_names([r[3] for r in rows] + [r[3] for r in case_rows])
        case_url = url_for("monitoring:case_detail")
        pairs = []
        counts = dict.fromkeys(
            (
                "steps_due_soon",
                "steps_overdue",
                "cases_due_soon",
                "cases_overdue",
                "exits_due_soon",
                "exits_overdue",
            ),
            0,
        )
        for pk, case_id, area, hid, name, role, level, due, name_en in rows:
            soon, cal = rules(area)
            state = deadlines.deadline(
                due, now=now, due_soon_days=deadlines.step_due_soon_days(soon), calendar=cal
            ).state
            if state is deadlines.State.OVERDUE:
                kind, key = NotificationKind.OVERDUE, f"step-overdue:{pk}:{due}"
                title = text(
                    N_("已超期：%(v)s%(h)s户「%(s)s」应于%(d)s前办结"),
                    **names.get(hid, {}),
                    s={"zh": name, "en": name_en},
                    d=str(due),
                )
                counts["steps_overdue"] += 1
            elif state is deadlines.State.DUE_SOON:
                kind, key = NotificationKind.DUE_SOON, f"step-due:{pk}:{due}"
                title = text(
                    N_("即将到期：%(v)s%(h)s户「%(s)s」须于%(d)s前办结"),
                    **names.get(hid, {}),
                    s={"zh": name, "en": name_en},
                    d=str(due),
                )
                counts["steps_due_soon"] += 1
            else:
                continue
            msg = Message(key=key, kind=kind, title=title, url=case_url(case_id), area_code=area)
            pairs.extend((uid, msg) for uid in who.get(role, code_at(area, level)))
        for what, pk, area, hid, due in case_rows:
            soon, cal = rules(area)
            state = deadlines.deadline(due, now=now, due_soon_days=soon, calendar=cal).state
            if state is deadlines.State.OVERDUE:
                kind, key = NotificationKind.OVERDUE, f"{what}-overdue:{pk}:{due}"
                title = text(OVERDUE[what], **names.get(hid, {}), d=str(due))
                counts[f"{what}s_overdue"] += 1
            elif state is deadlines.State.DUE_SOON:
                kind, key = NotificationKind.DUE_SOON, f"{what}-due:{pk}:{due}"
                title = text(DUE_SOON[what], **names.get(hid, {}), d=str(due))
                counts[f"{what}s_due_soon"] += 1
            else:
                continue
            msg = Message(key=key, kind=kind, title=title, url=case_url(pk), area_code=area)
            pairs.extend((uid, msg) for uid in who.get(Role.COUNTY_APPROVER, code_at(area, AreaLevel.COUNTY)))
        counts["notifications"] = notify(pairs, now=now)
        counts["breaches"] = sum(recorded.values())
        counts["escalated"] = breaches_notify(now=now, kinds=("step", "case", "exit"), area_code=area_code)
    return counts


def breaches_notify(*, now: dt.datetime, kinds: tuple[str, ...], area_code: str = "") -> int:
    """Tell the level each new breach is escalated to, once (``notified_at``)."""
    qs = _scope(
        Breach.objects.filter(notified_at__isnull=True, kind__in=kinds), "case__area_code", area_code
    ).values_list(
        "pk",
        "case_id",
        "case__area_code",
        "case__household_id",
        "kind",
        "step__name",
        "due_date",
        "escalated_to",
        "step__name_en",
    )
    rows = list(qs.iterator(chunk_size=CHUNK))
    if not rows:
        return 0
    who = _Recipients()
    for _pk, _case, area, _hid, _kind, _step, _due, level, _en in rows:
        who.want(LEVEL_ROLE[level], code_at(area, level))
    who.load()
    names = household_names([r[3] for r in rows])
    pairs = []
    case_url = url_for("monitoring:case_detail")
    for pk, case_id, area, hid, kind, step, due, level, step_en in rows:
        msg = Message(
            key=f"breach:{pk}",
            kind=NotificationKind.ESCALATION,
            title=text(
                ESCALATED.get(kind, ESCALATED["case"]),
                **names.get(hid, {}),
                s={"zh": step or "", "en": step_en or ""},
                d=str(due),
            ),
            url=case_url(case_id),
            area_code=area,
        )
        pairs.extend((uid, msg) for uid in who.get(LEVEL_ROLE[level], code_at(area, level)))
    notify(pairs, now=now)
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), CHUNK):
        Breach.objects.filter(pk__in=ids[start : start + CHUNK]).update(notified_at=now)
    return len(ids)


# ---------------------------------------------------------------------------------------------
# Visit watch
# ---------------------------------------------------------------------------------------------


def visit_watch(*, now: dt.datetime | None = None, area_code: str = "") -> dict:
    now = now or timezone.now()
    today = deadlines.local_date(now)
    with transaction.atomic():
        late = _scope(
            MonitoringCase.objects.filter(status__in=VISIT_DUE_STATUSES, next_visit_due__lt=today),
            "area_code",
            area_code,
        )
        rows = list(
            late.values_list("pk", "household_id", "area_code", "household_id", "next_visit_due").iterator(
                chunk_size=CHUNK
            )
        )
        Breach.objects.bulk_create(
            [
                Breach(case_id=pk, kind="visit", due_date=due, escalated_to=AreaLevel.TOWNSHIP)
                for pk, _h, _a, _n, due in rows
            ],
            batch_size=CHUNK,
            ignore_conflicts=True,
        )
        helpers: dict[int, list[int]] = defaultdict(list)
        household_ids = [r[1] for r in rows]
        for start in range(0, len(household_ids), CHUNK):
            assigned = (
                HelperAssignment.objects.active(today)
                .filter(household_id__in=household_ids[start : start + CHUNK], helper__user__is_active=True)
                .values_list("household_id", "helper__user_id")
            )
            for hid, uid in assigned:
                helpers[hid].append(uid)
        who = _Recipients()
        for _pk, _h, area, _n, _due in rows:
            who.want(Role.VILLAGE_CADRE, area)
        who.load()
        names = household_names(household_ids)
        pairs = []
        visit_url = url_for("monitoring:visit_create")
        for pk, hid, area, _hid, due in rows:
            msg = Message(
                key=f"visit:{pk}:{due}",
                kind=NotificationKind.VISIT_OVERDUE,
                title=text(N_("走访逾期：%(v)s监测户%(h)s应于%(d)s前走访"), **names.get(hid, {}), d=str(due)),
                url=visit_url(hid),
                area_code=area,
            )
            pairs.extend((uid, msg) for uid in helpers.get(hid, []) + who.get(Role.VILLAGE_CADRE, area))
        sent = notify(pairs, now=now)
        escalated = breaches_notify(now=now, kinds=("visit",), area_code=area_code)
    return {"overdue": len(rows), "notifications": sent, "escalated": escalated}


# ---------------------------------------------------------------------------------------------
# Measure watch
# ---------------------------------------------------------------------------------------------


def measure_watch(*, now: dt.datetime | None = None, area_code: str = "") -> dict:
    now = now or timezone.now()
    today = deadlines.local_date(now)
    in_place = AssistanceMeasure.objects.filter(case=OuterRef("pk"), status__in=IN_PLACE)
    rows = []
    with transaction.atomic():
        for county, prefix in _counties(area_code):
            days = settings_for(county).measure_deadline_days
            cutoff = today - dt.timedelta(days=days)
            found = (
                MonitoringCase.objects.filter(
                    area_code__startswith=prefix,
                    status__in=MEASURE_DUE_STATUSES,
                    identified_on__lt=cutoff,
                )
                .filter(~Exists(in_place))
                .values_list("pk", "area_code", "household_id", "identified_on")
            )
            rows.extend(
                (pk, area, n, on + dt.timedelta(days=days))
                for pk, area, n, on in found.iterator(chunk_size=CHUNK)
            )
        Breach.objects.bulk_create(
            [
                Breach(case_id=pk, kind="measure", due_date=due, escalated_to=AreaLevel.TOWNSHIP)
                for pk, _a, _n, due in rows
            ],
            batch_size=CHUNK,
            ignore_conflicts=True,
        )
        who = _Recipients()
        for _pk, area, _n, _due in rows:
            who.want(Role.VILLAGE_CADRE, area)
        who.load()
        names = household_names([r[2] for r in rows])
        pairs = []
        plan_url = url_for("monitoring:case_plan")
        for pk, area, hid, due in rows:
            msg = Message(
                key=f"measure:{pk}:{due}",
                kind=NotificationKind.MEASURE_MISSING,
                title=text(
                    N_("帮扶措施未落实：%(v)s监测户%(h)s识别后应于%(d)s前落实帮扶措施"),
                    **names.get(hid, {}),
                    d=str(due),
                ),
                url=plan_url(pk),
                area_code=area,
            )
            pairs.extend((uid, msg) for uid in who.get(Role.VILLAGE_CADRE, area))
        sent = notify(pairs, now=now)
        escalated = breaches_notify(now=now, kinds=("measure",), area_code=area_code)
    return {"without_measures": len(rows), "notifications": sent, "escalated": escalated}


def _counties(area_code: str = "") -> list[tuple[str, str]]:
    """(county code, prefix to scan) for the area, or for every county."""
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        prefix = area.prefix if area else area_code
        if area is not None and area.level in (AreaLevel.PROVINCE, AreaLevel.CITY):
            return [
                (c, c[:6])
                for c in Area.objects.filter(level=AreaLevel.COUNTY, code__startswith=prefix).values_list(
                    "code", flat=True
                )
            ]
        return [(county_code_of(area_code), prefix)]
    return [(c, c[:6]) for c in Area.objects.filter(level=AreaLevel.COUNTY).values_list("code", flat=True)]
