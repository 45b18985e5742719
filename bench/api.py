"""API benchmark on a loaded county (run ``bench.generate`` first on the same database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanpin_bench .venv/bin/python -m bench.api

Measures, in-process through the whole Django/DRF stack (no network):
- an alert batch of 1,000 (a third with ID numbers of registered people, a third new to the
  registry, a third on households with an open case), first post and an identical retry;
- p50/p95 of list endpoints (first pages, department and staff) over repeated requests,
  with the number of SQL queries per request.
Targets (issue): batch < 2 s on PostgreSQL with 300,000 households; lists p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("API_KEY_RATE", "100000/min")
    os.environ.setdefault("API_USER_RATE", "100000/min")
    import django

    django.setup()


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _prepare(seed: int):
    """A county approver, a department key, some open cases and measures, on the loaded county."""
    import datetime as dt

    from django.utils import timezone

    from accounts.models import Area, Department, Role, User
    from accounts.services import api_key_issue
    from households import idnumber
    from households.models import Household, Person
    from monitoring.models import AssistanceMeasure, Measure, MonitoringCase
    from monitoring.services import clues

    county = Area.objects.filter(level="county").order_by("code").first()
    if county is None or not Household.objects.exists():
        sys.exit("no county loaded: run `python -m bench.generate --households 300000` first")
    approver, _ = User.objects.get_or_create(
        username="bench-approver", defaults={"role": Role.COUNTY_APPROVER, "full_name": "基准测试"}
    )
    approver.areas.add(county)
    department = Department.objects.get(code="medical_insurance")
    key, raw = api_key_issue(
        actor=None,
        department=department,
        name="bench",
        scopes=["alerts:write", "alerts:read", "tasks:read"],
        county=county,
    )
    rng = random.Random(seed)
    # A few hundred open cases so that alerts attach and case lists have rows.
    if MonitoringCase.objects.count() < 300:
        now = timezone.now()
        picks = list(
            Household.objects.filter(cases__isnull=True).order_by("id").values_list("id", flat=True)[:300]
        )
        for hid in picks:
            hh = Household.objects.get(pk=hid)
            clues.clue_create(
                actor=None,
                channel="cadre_screening",
                found_date=timezone.localdate() - dt.timedelta(days=3),
                risk_type_codes=["01"],
                household=hh,
                open_case=True,
                now=now,
            )
        measure = Measure.objects.get(code="M0502")
        AssistanceMeasure.objects.bulk_create(
            AssistanceMeasure(case=c, measure=measure, department=department, status="planned")
            for c in MonitoringCase.objects.all()[:300]
        )
    open_ids = list(
        Person.objects.filter(household__cases__status="identifying").values_list("id_number", flat=True)[
            :2000
        ]
    )
    top = Person.objects.order_by("-id").values_list("id", flat=True).first() or 1
    sample = rng.sample(range(1, top + 1), min(top, 4000))
    known = list(Person.objects.filter(pk__in=sample).values_list("id_number", flat=True)[:2000])
    return approver, raw, known, open_ids, rng, idnumber


def _batch(n, rng, known, open_ids, idnumber, tag):
    import datetime as dt

    from django.utils import timezone

    items = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            number = rng.choice(known)
        elif kind == 1:
            number = idnumber.make(
                "130727", dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15000)), rng.randrange(1000)
            )
        else:
            number = rng.choice(open_ids) if open_ids else rng.choice(known)
        items.append(
            {
                "external_id": f"{tag}-{i}",
                "id_number": number,
                "name": "张三",
                "risk_type": rng.choice(["01", "03", "09", "0201"]),
                "found_date": timezone.localdate().isoformat(),
                "description": "住院自付费用较高",
                "amount": "23000.00",
            }
        )
    return items


def run(*, requests: int = 60, seed: int = 7) -> dict:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    approver, raw, known, open_ids, rng, idnumber = _prepare(seed)
    key_headers = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}
    client = Client()
    results: dict = {"vendor": connection.vendor}

    from households.models import Household

    results["households"] = Household.objects.count()
    items = _batch(1000, rng, known, open_ids, idnumber, f"bench{int(time.time())}")
    body = json.dumps(items)
    reset_queries()  # DEBUG keeps at most 9,000 queries: start the count from an empty log
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post("/api/v1/alerts/", body, content_type="application/json", **key_headers)
        first = time.perf_counter() - started
    assert response.status_code in (200, 201), response.content[:500]
    summary = response.json()
    started = time.perf_counter()
    retry = client.post("/api/v1/alerts/", body, content_type="application/json", **key_headers)
    second = time.perf_counter() - started
    results["alert_batch"] = {
        "items": 1000,
        "seconds": round(first, 3),
        "queries": len(queries),
        "created": summary.get("created"),
        "existing_on_retry": retry.json().get("existing"),
        "retry_seconds": round(second, 3),
    }

    staff = Client()
    staff.force_login(approver)
    lists = [
        ("alerts (department)", client, "/api/v1/alerts/", key_headers),
        ("tasks (department)", client, "/api/v1/tasks/", key_headers),
        ("households (staff)", staff, "/api/v1/households/", {}),
        ("households search (staff)", staff, "/api/v1/households/?search=%E5%BC%A0", {}),
        ("people (staff)", staff, "/api/v1/people/", {}),
        ("clues (staff)", staff, "/api/v1/clues/", {}),
        ("cases (staff)", staff, "/api/v1/cases/", {}),
        ("measures (staff)", staff, "/api/v1/measures/", {}),
        ("ledger counts (staff)", staff, "/api/v1/ledgers/counts/", {}),
    ]
    results["lists"] = {}
    for name, who, url, headers in lists:
        timings = []
        status = None
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            for _ in range(requests):
                started = time.perf_counter()
                response = who.get(url, **headers)
                timings.append((time.perf_counter() - started) * 1000)
                status = response.status_code
        results["lists"][name] = {
            "url": url,
            "status": status,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(_percentile(timings, 95), 1),
            "queries_per_request": round(len(queries) / requests, 1),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    _setup()
    results = run(requests=args.requests)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    batch = results["alert_batch"]
    print(f"API benchmark on {results['vendor']}: {results['households']:,} households")
    print(
        f"  alert batch of 1,000: {batch['seconds']:.2f} s ({batch['queries']} queries; created {batch['created']}),"
        f" retry {batch['retry_seconds']:.2f} s (existing {batch['existing_on_retry']})"
    )
    for name, row in results["lists"].items():
        print(
            f"  {name:28s} p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms  "
            f"{row['queries_per_request']:4.1f} queries  [{row['status']}]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
