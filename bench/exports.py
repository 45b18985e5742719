"""Ledger lists and Excel exports on a loaded county (run ``bench.generate`` first).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a copy of fanpin_bench> .venv/bin/python -m bench.exports

Measures, in-process through the whole Django stack:
- each ledger's page (``/reports/ledgers/<ledger>/``, signed in as a county approver, through
  Django's test client) and the API's first page (``/api/v1/ledgers/<ledger>/``): p50/p95 over
  repeated requests and the SQL queries per request;
- the export of the largest ledger (``reports.exports.write_list``, the job's writer) against
  bare XlsxWriter writing the same columns' raw values from one server-side cursor over the
  same query, each in its own subprocess (time, and peak memory from ``ru_maxrss``), in the
  same run.
Targets (issue): page and API first page p95 < 150 ms with a fixed number of queries; the
export < 60 s, < 200 MB peak, and at most 1.2x the bare writer's time. Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

PAGE_P95_MS = 150
EXPORT_SECONDS = 60
EXPORT_MB = 200
EXPORT_RATIO = 1.2


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("API_USER_RATE", "100000/min")
    import django

    django.setup()


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def _approver():
    from accounts.models import Area, Role, User
    from households.models import Household

    county = Area.objects.filter(level="county").order_by("code").first()
    if county is None or not Household.objects.exists():
        sys.exit("no county loaded: run `python -m bench.generate --households 300000` first")
    user, _ = User.objects.get_or_create(
        username="bench-approver", defaults={"role": Role.COUNTY_APPROVER, "full_name": "基准测试"}
    )
    user.areas.add(county)
    return user


def _timed(get, url: str, requests: int) -> dict:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    get(url)  # warm
    timings, queries_per_request, status = [], set(), None
    for _ in range(requests):
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = get(url)
            timings.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        queries_per_request.add(len(queries))
    return {
        "url": url,
        "status": status,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(_percentile(timings, 95), 1),
        "queries": sorted(queries_per_request),
    }


def lists(*, requests: int) -> dict:
    from django.test import Client
    from rest_framework.test import APIClient

    from reports.selectors import Ledger

    user = _approver()
    page = Client()
    page.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    results = {}
    for ledger in Ledger:
        results[f"page {ledger}"] = _timed(page.get, f"/reports/ledgers/{ledger}/", requests)
        results[f"api {ledger}"] = _timed(api.get, f"/api/v1/ledgers/{ledger}/", requests)
    return results


def largest_ledger() -> tuple[str, int]:
    from reports import selectors

    counts = selectors.ledger_counts(user=_approver())
    ledger = max(selectors.HOUSEHOLD_LEDGERS, key=lambda k: counts[str(k)])
    return str(ledger), counts[str(ledger)]


def child(mode: str, ledger: str, path: str) -> dict:
    """One export in this process (``mode``: ``export`` or ``bare``): seconds, rows, peak MB."""
    from reports import exports

    user = _approver()
    started = time.perf_counter()
    if mode == "export":
        rows = exports.write_list(path, kind=ledger, user=user, params={}, reveal=True)
    else:
        rows = _bare(path, ledger, user)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "seconds": round(seconds, 2), "rows": rows, "peak_mb": round(peak_mb, 1)}


def _bare(path: str, ledger: str, user) -> int:
    """The same columns' raw values (codes, not labels; area codes, not names; no masking) from
    one server-side cursor over the same query, written by XlsxWriter with typed writes."""
    import datetime as dt

    import xlsxwriter
    from django.db import connection, transaction

    from reports import lists as ledger_lists
    from reports.columns import Kind, columns_of, default_sort

    columns = columns_of(ledger)
    qs = ledger_lists.filtered(ledger, ledger_lists.base_rows(ledger, user=user, selection={}), {})
    qs = qs.order_by(default_sort(ledger)).values_list(*[c.source for c in columns])
    sql, params = qs.query.sql_with_params()
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "use_zip64": True})
    sheet = book.add_worksheet("bare")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for c, column in enumerate(columns):
        sheet.write_string(0, c, str(column.header))
    kinds = [column.kind for column in columns]
    r = 0
    with transaction.atomic(), connection.connection.cursor(name="bench_bare") as cursor:
        cursor.itersize = 5000
        cursor.execute(sql, params)
        for row in cursor:
            r += 1
            for c, value in enumerate(row):
                if value is None:
                    continue
                if kinds[c] == Kind.DATE:
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
                elif kinds[c] == Kind.NUMBER:
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, value)
    book.close()
    return r


def exports_compared(ledger: str) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as directory:
        for mode in ("bare", "export"):
            path = os.path.join(directory, f"{mode}.xlsx")
            done = subprocess.run(
                [sys.executable, "-m", "bench.exports", "--child", mode, "--ledger", ledger, "--path", path],
                capture_output=True,
                text=True,
                check=True,
            )
            out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            out[mode]["file_mb"] = round(os.path.getsize(path) / 2**20, 1)
    out["ratio"] = round(out["export"]["seconds"] / out["bare"]["seconds"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--child", choices=["export", "bare"])
    parser.add_argument("--ledger")
    parser.add_argument("--path")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args(argv)
    _setup()
    if args.child:
        print(json.dumps(child(args.child, args.ledger, args.path)))
        return 0
    from django.db import connection

    misses = []
    print(f"Ledger lists and exports on {connection.vendor}")
    for name, row in lists(requests=args.requests).items():
        fixed = len(row["queries"]) == 1
        print(
            f"  {name:32s} p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms  "
            f"queries {'/'.join(map(str, row['queries']))}  [{row['status']}]"
        )
        if row["p95_ms"] >= PAGE_P95_MS or not fixed or row["status"] != 200:
            misses.append(name)
    if not args.skip_export:
        ledger, count = largest_ledger()
        result = exports_compared(ledger)
        bare, export = result["bare"], result["export"]
        print(f"  export of {ledger} ({count:,} rows):")
        print(
            f"    bare XlsxWriter from a cursor  {bare['seconds']:6.1f} s  peak {bare['peak_mb']:6.1f} MB  {bare['file_mb']} MB file"
        )
        print(
            f"    reports.exports.write_list     {export['seconds']:6.1f} s  peak {export['peak_mb']:6.1f} MB  "
            f"{export['file_mb']} MB file  ratio {result['ratio']:.2f}"
        )
        if export["rows"] != count or bare["rows"] != count:
            misses.append("export rows")
        if (
            export["seconds"] >= EXPORT_SECONDS
            or export["peak_mb"] >= EXPORT_MB
            or result["ratio"] > EXPORT_RATIO
        ):
            misses.append("export")
    if misses:
        print("missed targets: " + ", ".join(misses))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
