"""Dashboard benchmark on a loaded county (run ``bench.generate`` first on the same database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanpin_bench .venv/bin/python -m bench.dashboard

Set-up: the open cases of ``bench.watch`` (20,000 by default, with their identification and
exit steps and measures; reused when present), the system clues of a first risk review when
the county has none, and a visit this month for seven in ten of the followed bench cases
(tagged ``visited_by`` the ``bench-watch`` user; deleted with ``--clean``).

Measures:

- the precompute of the county (``reports.snapshots.dashboard_figures``: every figure of the
  county and of each of its townships), wall time and per figure on the county;
- as a county approver, through the whole Django stack: the dashboard page from the stored
  figures (county and a township) and each figure's table export (CSV), p50/p95 of
  ``--requests`` requests each.

Targets (issue): the precompute over the county < 60 s; each chart's request from the
precomputed figures < 300 ms (p95). Exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time

from bench.review import _county, _rss_mb
from bench.watch import TAG, _bench_user, _parse_now, _setup, setup_cases

TARGET_PRECOMPUTE_SECONDS = 60
TARGET_REQUEST_MS = 300
VISITED_SHARE = 0.7


def ensure_clues(county: str, now: dt.datetime) -> dict:
    from monitoring.models import Clue
    from monitoring.services.review import risk_review

    existing = Clue.objects.filter(area_code__startswith=county[:6]).count()
    if existing:
        return {"clues": existing, "raised": 0, "seconds": 0}
    started = time.perf_counter()
    counts = risk_review(now=now, area_code=county)
    return {
        "clues": Clue.objects.filter(area_code__startswith=county[:6]).count(),
        "raised": counts.get("clues", 0),
        "seconds": round(time.perf_counter() - started, 2),
    }


def ensure_visits(now: dt.datetime, seed: int) -> int:
    """A visit this month for seven in ten of the bench cases that owe one (once)."""
    from monitoring.models import MonitoringCase, Visit
    from monitoring.rules.deadlines import local_date
    from reports.figures import VISIT_DUE_STATUSES

    user = _bench_user()
    today = local_date(now)
    if Visit.objects.filter(visited_by=user).exists():
        return Visit.objects.filter(visited_by=user).count()
    rng = random.Random(seed)
    cases = MonitoringCase.objects.filter(created_by=user, status__in=VISIT_DUE_STATUSES).values_list(
        "pk", "household_id", "area_code"
    )
    visits = [
        Visit(
            household_id=hid,
            area_code=area,
            case_id=pk,
            visited_by=user,
            visited_on=today - dt.timedelta(days=rng.randint(0, today.day - 1)),
        )
        for pk, hid, area in cases.iterator()
        if rng.random() < VISITED_SHARE
    ]
    Visit.objects.bulk_create(visits, batch_size=2000)
    return len(visits)


def clean() -> dict:
    from monitoring.models import Visit
    from reports.models import FigureSnapshot

    visits, _ = Visit.objects.filter(visited_by=_bench_user()).delete()
    snapshots, _ = FigureSnapshot.objects.all().delete()
    return {"visits": visits, "snapshots": snapshots}


def _times(client, url: str, n: int) -> dict:
    timings = []
    for _i in range(n):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"{url}: HTTP {response.status_code}")
    timings.sort()
    return {
        "p50": round(statistics.median(timings), 1),
        "p95": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
    }


def run(*, now: dt.datetime, cases: int, seed: int, requests: int) -> dict:
    from django.test import Client

    from accounts.models import Area, User
    from reports import figures, snapshots
    from reports.models import FigureSnapshot

    county = _county()
    out = {"county": county, "now": now.isoformat(), "failures": []}
    out["setup"] = setup_cases(n=cases, seed=seed, now=now)
    out["clues"] = ensure_clues(county, now)
    out["visits"] = ensure_visits(now, seed)

    started = time.perf_counter()
    counts = snapshots.dashboard_figures(now=now, area_code=county)
    out["precompute"] = {"seconds": round(time.perf_counter() - started, 2), **counts}
    out["per_figure"] = dict(
        FigureSnapshot.objects.filter(area_code=county[:6]).values_list("key", "seconds").order_by("key")
    )
    if out["precompute"]["seconds"] >= TARGET_PRECOMPUTE_SECONDS:
        out["failures"].append(
            f"precompute {out['precompute']['seconds']} s >= {TARGET_PRECOMPUTE_SECONDS} s"
        )

    approver = User.objects.filter(username__startswith=f"{TAG}-county-", is_active=True).first()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(approver)
    township = (
        Area.objects.filter(level="township", code__startswith=county[:6])
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    pages = {
        "page (county)": f"/dashboard/?area={county[:6]}",
        "page (township)": f"/dashboard/?area={township[:9]}",
    }
    for f in figures.FIGURES:
        pages[f"{f.key}.csv"] = f"/dashboard/export.csv?figure={f.key}&area={county[:6]}"
    client.get(pages["page (county)"])  # warm the process (templates, translations)
    out["requests"] = {}
    for label, url in pages.items():
        t = _times(client, url, requests)
        out["requests"][label] = t
        if t["p95"] >= TARGET_REQUEST_MS:
            out["failures"].append(f"{label}: p95 {t['p95']} ms >= {TARGET_REQUEST_MS} ms")
    out["peak_rss_mb"] = _rss_mb()
    out["load_average"] = os.getloadavg()
    return out


def report(r: dict) -> None:
    s = r["setup"]
    print(f"Dashboard benchmark: county {r['county']}, as of {r['now']}")
    print(
        f"  set-up     {s.get('cases', 0):,} bench cases ({'reused' if s.get('reused') else 'made'}),"
        f" {r['clues']['clues']:,} clues ({r['clues']['raised']:,} raised now in {r['clues']['seconds']} s),"
        f" {r['visits']:,} visits this month"
    )
    p = r["precompute"]
    print(
        f"  precompute {p['seconds']:6.2f} s  {p['areas']} areas (the county and its townships),"
        f" {p['figures']} figures (< {TARGET_PRECOMPUTE_SECONDS} s)"
    )
    print("             county figures: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["per_figure"].items()))
    for label, t in r["requests"].items():
        print(f"  {label:32s} p50 {t['p50']:6.1f} ms  p95 {t['p95']:6.1f} ms (< {TARGET_REQUEST_MS} ms)")
    print(
        f"  peak RSS {r['peak_rss_mb']:.0f} MB; load average {' '.join(f'{x:.1f}' for x in r['load_average'])}"
    )
    for failure in r["failures"]:
        print(f"  FAILED: {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dashboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", type=int, default=20_000, help="open bench cases (as bench.watch)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--now", default=None, help="ISO date-time (default: 22 Nov 02:00 local, as bench.watch)"
    )
    parser.add_argument("--requests", type=int, default=40, help="requests per page or export")
    parser.add_argument("--clean", action="store_true", help="delete the bench visits and the stored figures")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to the benchmark database (this inserts cases, visits and figures)")
    _setup()
    if args.clean:
        print(clean())
        return 0
    result = run(now=_parse_now(args.now), cases=args.cases, seed=args.seed, requests=args.requests)
    report(result)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
