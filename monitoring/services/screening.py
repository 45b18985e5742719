"""Annual concentrated screening (年度集中排查): a visit task for every household of a county.

Each county sets when its screening starts (month and day) and how many days it lasts. The
daily task opens the county's campaign on or after its start day (until its end) and creates a
visit task for every household, with due dates spread evenly over the window, village after
village (households ordered by area code and number), so each village's visits fall on a few
consecutive days. Households registered later get their task the next day; nothing is created
twice (one campaign per county and year, one task per household and campaign). A visit
recorded from the start day on completes the household's task.

The tasks are inserted by one ``INSERT … SELECT`` per county (row numbers from a window
function), not row by row.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from accounts.models import Area, AreaLevel, NotificationKind, Role
from accounts.notifications import Message, notify, users_at
from accounts.texts import text
from households.models import Household
from monitoring.county import county_code_of, settings_for
from monitoring.models import ScreeningCampaign, Visit, VisitTask
from monitoring.rules import deadlines


def window(year: int, county_settings) -> tuple[dt.date, dt.date]:
    """The screening window of a year (first and last day)."""
    start = dt.date(year, county_settings.screening_month, county_settings.screening_day)
    return start, start + dt.timedelta(days=county_settings.screening_days - 1)


def _insert_tasks(campaign: ScreeningCampaign, prefix: str, today: dt.date) -> int:
    """One INSERT … SELECT: a task for each household of the county that has none yet, due
    dates spread over what is left of the window (all of it on the first day)."""
    first = max(campaign.start_date, min(today, campaign.end_date))
    days = (campaign.end_date - first).days + 1
    task, household = VisitTask._meta.db_table, Household._meta.db_table
    offset = f"((ROW_NUMBER() OVER (ORDER BY h.area_code, h.number) - 1) * {days} / n.total)"
    if connection.vendor == "postgresql":
        due = f"(%s::date + {offset}::integer)"
    else:
        due = f"date(%s, '+' || {offset} || ' days')"
    sql = f"""
        INSERT INTO {task} (campaign_id, household_id, area_code, due_date, visit_id, done_on)
        SELECT %s, h.id, h.area_code, {due}, NULL, NULL
        FROM {household} h
        CROSS JOIN (
            SELECT COUNT(*) AS total FROM {household} h2
            WHERE h2.area_code LIKE %s
              AND NOT EXISTS (SELECT 1 FROM {task} t WHERE t.campaign_id = %s AND t.household_id = h2.id)
        ) n
        WHERE h.area_code LIKE %s
          AND NOT EXISTS (SELECT 1 FROM {task} t WHERE t.campaign_id = %s AND t.household_id = h.id)
    """
    like = prefix + "%"
    params = [campaign.pk, first, like, campaign.pk, like, campaign.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def screening_campaign(*, now: dt.datetime | None = None, area_code: str = "", actor=None) -> dict:
    """Open (or top up) the campaign of every county whose screening window includes today."""
    now = now or timezone.now()
    today = deadlines.local_date(now)
    counties = Area.objects.filter(level=AreaLevel.COUNTY)
    if area_code:
        counties = counties.filter(code=county_code_of(area_code))
    counts = {"campaigns_opened": 0, "tasks": 0, "done_already": 0, "counties_in_window": 0}
    for county in counties.order_by("code"):
        start, end = window(today.year, settings_for(county.code))
        if not (start <= today <= end):
            continue
        counts["counties_in_window"] += 1
        with transaction.atomic():
            campaign, created = ScreeningCampaign.objects.select_for_update().get_or_create(
                county=county,
                year=today.year,
                defaults={"start_date": start, "end_date": end, "created_at": now, "created_by": actor},
            )
            before = VisitTask.objects.filter(campaign=campaign).aggregate(m=Max("pk"))["m"] or 0
            added = _insert_tasks(campaign, county.prefix, today)
            counts["campaigns_opened"] += int(created)
            counts["tasks"] += added
            if added:
                counts["done_already"] += _done_already(campaign, after=before)
                _notify(campaign, after=before, now=now)
    return counts


def _done_already(campaign: ScreeningCampaign, *, after: int) -> int:
    """New tasks of households visited since the campaign started are done at once."""
    visits = Visit.objects.filter(
        household_id=OuterRef("household_id"),
        visited_on__gte=campaign.start_date,
        visited_on__year=campaign.year,
    ).order_by("visited_on", "id")
    return (
        VisitTask.objects.filter(campaign=campaign, pk__gt=after, visit__isnull=True)
        .filter(Exists(visits))
        .update(visit=Subquery(visits.values("pk")[:1]), done_on=Subquery(visits.values("visited_on")[:1]))
    )


#: Notification titles (msgid and plural: the same in Chinese).
TO_VISIT = N_("%(y)s年集中排查：本村%(n)s户待走访，%(a)s至%(b)s")
NEW = N_("%(y)s年集中排查：本村新增%(n)s户待走访，%(a)s至%(b)s")


def _notify(campaign: ScreeningCampaign, *, after: int, now: dt.datetime) -> None:
    """Village cadres of the villages that got new tasks: how many to visit, and by when."""
    per_village = Counter(
        VisitTask.objects.filter(campaign=campaign, pk__gt=after, visit__isnull=True).values_list(
            "area_code", flat=True
        )
    )
    cadres = users_at(Role.VILLAGE_CADRE, per_village)
    pairs = []
    for code, n in per_village.items():
        msg = Message(
            key=f"screening:{campaign.pk}:{code}:{after}",
            kind=NotificationKind.SCREENING,
            title=text(
                (NEW if after else TO_VISIT),
                (NEW if after else TO_VISIT),
                n,
                y=campaign.year,
                a=str(campaign.start_date),
                b=str(campaign.end_date),
            ),
            url=reverse("monitoring:screening"),
            area_code=code,
        )
        pairs.extend((uid, msg) for uid in cadres.get(code, []))
    notify(pairs, now=now)


def screening_visit_done(visit: Visit) -> int:
    """Complete the household's open screening task(s) whose campaign had started by the visit."""
    return VisitTask.objects.filter(
        household_id=visit.household_id,
        visit__isnull=True,
        campaign__start_date__lte=visit.visited_on,
        campaign__year=visit.visited_on.year,
    ).update(visit=visit, done_on=visit.visited_on)
