"""The dashboard's precompute: every figure of every county and township, stored as
:class:`~reports.models.FigureSnapshot` rows the page reads.

:func:`dashboard_figures` is the periodic task's service (``reports.tasks``): idempotent
(a second run overwrites the rows with the same figures), set-based (each figure is one
aggregate per area: no query per household), with an explicit ``now``.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from accounts.models import Area, AreaLevel
from monitoring.rules.deadlines import local_date
from reports import figures
from reports.models import FigureSnapshot


def snapshot_areas(area_code: str = "") -> list[str]:
    """The area-code prefixes the precompute covers for a run over ``area_code`` (12 digits, or
    empty for the whole deployment): each county and its townships; a township run covers only
    that township (a village run: its township)."""
    area = Area.objects.filter(code=area_code).first() if area_code else None
    if area_code and area is None:
        return []
    if area is not None and area.level in (AreaLevel.TOWNSHIP, AreaLevel.VILLAGE):
        return [area.code[:9]]
    rows = Area.objects.filter(level__in=[AreaLevel.COUNTY, AreaLevel.TOWNSHIP])
    if area is not None and area.level == AreaLevel.COUNTY:
        rows = rows.filter(code__startswith=area.code[:6])
    elif area is not None:
        rows = rows.filter(code__startswith=area.prefix)
    return [
        code[:6] if level == AreaLevel.COUNTY else code[:9]
        for code, level in rows.order_by("code").values_list("code", "level")
    ]


def compute_area(prefix: str, *, now: dt.datetime) -> int:
    """Compute and store every figure of one area; returns the number of figures stored."""
    today = local_date(now)
    rows = []
    for figure in figures.FIGURES:
        started = time.monotonic()
        data = figure.compute(user=None, area=prefix, today=today)
        rows.append(
            FigureSnapshot(
                area_code=prefix,
                key=figure.key,
                data=data,
                as_of=today,
                computed_at=timezone.now(),
                seconds=round(time.monotonic() - started, 3),
            )
        )
    with transaction.atomic():
        FigureSnapshot.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["area_code", "key"],
            update_fields=["data", "as_of", "computed_at", "seconds"],
        )
    return len(rows)


def dashboard_figures(*, now: dt.datetime | None = None, area_code: str = "") -> dict:
    """Compute the dashboard's figures for the counties and townships under ``area_code``."""
    now = now or timezone.now()
    areas = snapshot_areas(area_code)
    stored = sum(compute_area(prefix, now=now) for prefix in areas)
    return {"areas": len(areas), "figures": stored}


def snapshots_for(prefix: str) -> dict[str, FigureSnapshot]:
    """The stored figures of one area, by key (one query)."""
    return {s.key: s for s in FigureSnapshot.objects.filter(area_code=prefix)}
