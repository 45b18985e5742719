"""Risk review benchmark on a loaded county (run ``bench.generate`` first on the same database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanpin_bench .venv/bin/python -m bench.review

Measures ``monitoring.services.review`` against one hand-written SQL query that computes the
same clues (household, rule, period) a review would insert:
- (a) the SQL query, (b) the ORM candidates (``income_candidates`` + ``guarantee_candidates``
  + ``new_candidates``, nothing inserted), each run ``--repeat`` times alternately so neither
  profits alone from a warm cache; the best of each is compared, and the two sets must match
  (also shown: the SQL query without parallel workers, which a server-side cursor, as the
  ORM's ``iterator()`` uses, never gets);
- (c) a first ``review_county`` that inserts the clues, from a clean state (every system clue,
  its risk types and its audit rows are deleted first, in bulk, so the bench repeats), and
  (d) a second one, which must insert nothing.
Prints the times, the ratios to the SQL query, the counts and this process's peak RSS.
Targets (issue): full review < 60 s on PostgreSQL with 300,000 households, ORM candidates
within 3x of the SQL query, memory < 500 MB. Exits 1 when a target is missed.

The nightly review runs with DEBUG off (no query log), so this bench does too unless
``DJANGO_DEBUG`` is set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time

TARGET_SECONDS = 60
TARGET_RATIO = 3
TARGET_RSS_MB = 500

# The clues a review would insert, in one statement. Rule parameters and thresholds are query
# parameters (taken from the database as the service takes them); a disabled rule has its
# switch off or its amount NULL.
SQL = """
WITH latest AS (
    SELECT DISTINCT ON (i.household_id)
           i.household_id, i.year, i.per_capita_net_income AS pc,
           i.compliant_medical_spending AS medical, h.household_type
    FROM households_incomerecord i
    JOIN households_household h ON h.id = i.household_id
    WHERE h.area_code LIKE %(prefix)s
      AND i.year BETWEEN %(first_year)s AND %(last_year)s
      AND i.per_capita_net_income IS NOT NULL
    ORDER BY i.household_id, i.year DESC
), income AS (
    SELECT l.household_id, r.code, l.year::text AS period
    FROM latest l
    LEFT JOIN unnest(%(line_years)s::int[], %(lines)s::numeric[]) AS t(year, line) ON t.year = l.year
    LEFT JOIN households_incomerecord p ON p.household_id = l.household_id AND p.year = l.year - 1
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN %(below)s AND l.pc < t.line THEN 'income_below'
              WHEN %(near)s AND l.pc >= t.line AND l.pc < t.line * %(near_factor)s THEN 'income_near'
         END),
        (CASE WHEN %(drop)s AND p.per_capita_net_income > 0
                   AND l.pc < p.per_capita_net_income * %(drop_factor)s THEN 'income_drop'
         END),
        (CASE WHEN l.household_type = 'out_of_poverty'
              THEN CASE WHEN l.medical > %(medical_poor)s THEN 'medical_out_of_poverty' END
              ELSE CASE WHEN l.medical > %(medical_other)s THEN 'medical_other' END
         END)
    ) AS r(code)
    WHERE r.code IS NOT NULL
      AND (l.pc < t.line * %(near_factor)s
           OR l.pc < p.per_capita_net_income * %(drop_factor)s
           OR l.medical > LEAST(%(medical_poor)s, %(medical_other)s))
), guarantee AS (
    SELECT h.id AS household_id, g.code, %(period)s AS period
    FROM households_household h
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN NOT h.food_clothing_secure THEN 'guarantee_food_clothing' END),
        (CASE WHEN NOT h.compulsory_education_secure THEN 'guarantee_education' END),
        (CASE WHEN NOT h.medical_insurance_secure THEN 'guarantee_medical' END),
        (CASE WHEN NOT h.housing_secure THEN 'guarantee_housing' END),
        (CASE WHEN NOT h.drinking_water_secure THEN 'guarantee_water' END)
    ) AS g(code)
    WHERE h.area_code LIKE %(prefix)s
      AND NOT (h.food_clothing_secure AND h.compulsory_education_secure AND h.medical_insurance_secure
               AND h.housing_secure AND h.drinking_water_secure)
      AND g.code = ANY(%(guarantee_codes)s::text[])
), candidates AS (
    SELECT * FROM income
    UNION ALL
    SELECT * FROM guarantee
)
SELECT c.household_id, c.code, c.period
FROM candidates c
JOIN unnest(%(rule_codes)s::text[], %(risk_type_ids)s::bigint[]) AS r(code, risk_type_id) ON r.code = c.code
WHERE NOT EXISTS (
        SELECT 1 FROM monitoring_clue k
        WHERE k.household_id = c.household_id AND k.rule_code = c.code AND k.period = c.period
      )
  AND NOT EXISTS (
        SELECT 1
        FROM monitoring_monitoringcase m
        JOIN monitoring_monitoringcase_risk_types mr ON mr.monitoringcase_id = m.id
        WHERE m.household_id = c.household_id AND m.status = ANY(%(open_statuses)s::text[])
          AND mr.risktype_id = r.risk_type_id
      )
"""


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: kilobytes


def _county():
    from accounts.models import Area
    from households.models import Household

    for code in Area.objects.filter(level="county").order_by("code").values_list("code", flat=True):
        if Household.objects.filter(area_code__startswith=code[:6]).exists():
            return code
    sys.exit("no county loaded: run `python -m bench.generate --households 300000` first")


def _default_now() -> dt.datetime:
    """02:00 on 22 November of the county's latest income year (the year it was generated for)."""
    from zoneinfo import ZoneInfo

    from django.db.models import Max

    from households.models import IncomeRecord

    tz = ZoneInfo("Asia/Shanghai")
    year = IncomeRecord.objects.aggregate(y=Max("year"))["y"] or dt.datetime.now(tz).year
    return dt.datetime(year, 11, 22, 2, 0, tzinfo=tz)


def sql_params(county_code: str, prefix: str, today: dt.date) -> dict:
    """The query's parameters, from the county's rules and thresholds as the service reads them."""
    from monitoring.county import threshold_for
    from monitoring.models import OPEN_CASE_STATUSES
    from monitoring.models import ReviewRuleCode as R
    from monitoring.services.review import GUARANTEE_RULES, REVIEW_YEARS, _pct, rules_for

    rules = rules_for(county_code)
    lines = {}
    for year in range(today.year - REVIEW_YEARS + 1, today.year + 1):
        row = threshold_for(county_code, year)
        if row is not None:
            lines[year] = row.amount
    near, drop = rules.get(R.INCOME_NEAR), rules.get(R.INCOME_DROP)
    poor, other = rules.get(R.MEDICAL_OUT_OF_POVERTY), rules.get(R.MEDICAL_OTHER)
    return {
        "prefix": prefix + "%",
        "first_year": today.year - REVIEW_YEARS + 1,
        "last_year": today.year,
        "line_years": list(lines),
        "lines": list(lines.values()),
        "below": R.INCOME_BELOW in rules,
        "near": near is not None,
        "near_factor": 1 + _pct(near),
        "drop": drop is not None,
        "drop_factor": 1 - _pct(drop),
        "medical_poor": (poor.parameter or 0) if poor else None,
        "medical_other": (other.parameter or 0) if other else None,
        "period": str(today.year),
        "guarantee_codes": [str(code) for code in GUARANTEE_RULES.values() if code in rules],
        "rule_codes": [str(code) for code in rules],
        "risk_type_ids": [rule.risk_type_id for rule in rules.values()],
        "open_statuses": [str(s) for s in OPEN_CASE_STATUSES],
    }


def sql_candidates(params: dict) -> set[tuple[int, str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SQL, params)
        return {(hid, code, period) for hid, code, period in cursor.fetchall()}


def sql_candidates_serial(params: dict) -> set[tuple[int, str, str]]:
    """The SQL query without parallel workers (as the ORM's server-side cursor runs)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(SQL, params)
        return {(hid, code, period) for hid, code, period in cursor.fetchall()}


def orm_candidates(county_code: str, prefix: str, today: dt.date) -> tuple[set, int]:
    """What ``review_county`` computes before inserting: (kept keys, number of candidates)."""
    from monitoring.services import review

    rules = review.rules_for(county_code)
    thresholds = {}
    for year in range(today.year - review.REVIEW_YEARS + 1, today.year + 1):
        row = review.threshold_for(county_code, year)
        if row is not None:
            thresholds[year] = row.amount
    candidates = review.income_candidates(prefix, rules, thresholds, today) + review.guarantee_candidates(
        prefix, rules, today
    )
    kept, _raised, _open = review.new_candidates(candidates, rules)
    return {(c.household_id, str(c.rule), c.period) for c in kept}, len(candidates)


def reset_system_clues() -> int:
    """Delete every system clue with its risk types and audit rows (raw SQL, one transaction)."""
    from django.db import connection, models, transaction

    from monitoring.models import Channel, Clue, StatusChange

    clue = Clue._meta.db_table
    ids = f"SELECT id FROM {clue} WHERE channel = %s"
    system = [str(Channel.SYSTEM)]
    with transaction.atomic(), connection.cursor() as cursor:
        for rel in Clue._meta.related_objects:  # e.g. a visit that raised a clue: SET_NULL
            if rel.many_to_many:
                continue
            if rel.on_delete is not models.SET_NULL:
                sys.exit(
                    f"cannot reset system clues: {rel.related_model.__name__}.{rel.field.name} refers to them"
                )
            table, column = rel.related_model._meta.db_table, rel.field.column
            cursor.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({ids})", system)
        through = Clue.risk_types.through._meta.db_table
        cursor.execute(f"DELETE FROM {through} WHERE clue_id IN ({ids})", system)
        cursor.execute(
            f"DELETE FROM {StatusChange._meta.db_table} WHERE object_type = 'clue' AND object_id IN ({ids})",
            system,
        )
        cursor.execute(f"DELETE FROM {clue} WHERE channel = %s", system)
        deleted = cursor.rowcount
    with connection.cursor() as cursor:  # the statistics of a table just emptied of its system clues
        cursor.execute(f"ANALYZE {clue}, {through}, {StatusChange._meta.db_table}")
    return deleted


def _timer():
    """A function timing ``fn(*args)``: (result, {seconds, cpu of this process, cpu of the
    database server process}); the server figure when PostgreSQL runs on this machine, and
    without the parallel workers of a query."""
    from django.db import connection

    from bench.generate import _backend_cpu

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def timed(fn, *args):
        server, cpu, started = _backend_cpu(pid), time.process_time(), time.perf_counter()
        result = fn(*args)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = _backend_cpu(pid)
        figures = {"seconds": round(seconds, 3), "cpu": round(cpu, 2)}
        figures["server_cpu"] = round(after - server, 2) if server is not None and after is not None else None
        return result, figures

    return timed


def run(*, repeat: int = 2, now: dt.datetime | None = None) -> dict:
    from django.apps import apps
    from django.conf import settings
    from django.db import connection

    from households.models import Household, Person
    from monitoring import defaults
    from monitoring.models import Channel, Clue, ReviewRule
    from monitoring.rules import deadlines
    from monitoring.services.review import review_county

    county = _county()
    prefix = county[:6]
    # `bench.generate --flush` reloads defaults.load only: the review rules of migration 0005
    # are gone after it. Load the default rules (idempotent) as tests/transactional.py does.
    loaded_rules = 0
    if not ReviewRule.objects.exists():
        defaults.load_review_rules(apps)
        loaded_rules = ReviewRule.objects.count()
    now = now or _default_now()
    today = deadlines.local_date(now)
    results: dict = {
        "vendor": connection.vendor,
        "county": county,
        "now": now.isoformat(),
        "households": Household.objects.filter(area_code__startswith=prefix).count(),
        "people": Person.objects.filter(household__area_code__startswith=prefix).count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "default_rules_loaded": loaded_rules,
        "debug": settings.DEBUG,
    }
    results["deleted_system_clues"] = reset_system_clues()
    params = sql_params(county, prefix, today)
    timed = _timer()

    results["sql"], results["orm_candidates"] = [], []
    for _ in range(repeat):
        expected, figures = timed(sql_candidates, params)
        results["sql"].append(figures)
        (kept, candidates), figures = timed(orm_candidates, county, prefix, today)
        results["orm_candidates"].append(figures)
        if kept != expected:
            sys.exit(
                f"ORM and SQL disagree: {len(kept - expected)} only from the ORM "
                f"(e.g. {sorted(kept - expected)[:3]}), {len(expected - kept)} only from SQL "
                f"(e.g. {sorted(expected - kept)[:3]})"
            )
    serial, results["sql_serial"] = timed(sql_candidates_serial, params)
    if serial != expected:
        sys.exit("the SQL query without parallel workers found other clues")
    results["candidates"] = candidates
    results["new_clues_expected"] = len(expected)
    results["rss_mb_after_candidates"] = _rss_mb()

    first, results["first_run"] = timed(lambda: review_county(county, now=now))
    results["first_run"]["counts"] = first
    inserted = set(
        Clue.objects.filter(channel=Channel.SYSTEM).values_list("household_id", "rule_code", "period")
    )
    if inserted != expected:
        sys.exit(f"the review inserted {len(inserted)} clues, not the {len(expected)} the SQL query found")
    results["rss_mb_after_first_run"] = _rss_mb()
    second, results["second_run"] = timed(lambda: review_county(county, now=now))
    results["second_run"]["counts"] = second
    after, results["sql_after_run"] = timed(sql_candidates, params)
    results["sql_after_run"]["rows"] = len(after)

    best_sql = min(f["seconds"] for f in results["sql"])
    best_orm = min(f["seconds"] for f in results["orm_candidates"])
    results["ratio_orm_candidates_to_sql"] = round(best_orm / best_sql, 2)
    results["ratio_first_run_to_sql"] = round(results["first_run"]["seconds"] / best_sql, 2)
    results["ratio_orm_candidates_to_serial_sql"] = round(best_orm / results["sql_serial"]["seconds"], 2)
    results["peak_rss_mb"] = _rss_mb()
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    failures = []
    if results["first_run"]["seconds"] > TARGET_SECONDS:
        failures.append(f"full review {results['first_run']['seconds']:.1f} s > {TARGET_SECONDS} s")
    if results["ratio_orm_candidates_to_sql"] > TARGET_RATIO:
        failures.append(
            f"ORM candidates {results['ratio_orm_candidates_to_sql']}x the SQL query > {TARGET_RATIO}x"
        )
    if results["peak_rss_mb"] > TARGET_RSS_MB:
        failures.append(f"peak RSS {results['peak_rss_mb']:.0f} MB > {TARGET_RSS_MB} MB")
    if second["clues"] or after:
        failures.append(f"second run not idempotent: {second['clues']} clues, SQL still finds {len(after)}")
    results["failures"] = failures
    return results


def _cpu(f: dict) -> str:
    server = f"{f['server_cpu']:.1f}" if f["server_cpu"] is not None else "n/a"
    return f"[cpu {f['cpu']:.1f} s here, {server} s server]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.review",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of the SQL query and of the ORM candidates"
    )
    parser.add_argument(
        "--now", default=None, help="ISO date-time of the review (default: 22 Nov 02:00 local)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to the benchmark database (this deletes and inserts system clues)")
    _setup()
    now = None
    if args.now:
        from zoneinfo import ZoneInfo

        now = dt.datetime.fromisoformat(args.now)
        if now.tzinfo is None:
            now = now.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    r = run(repeat=max(1, args.repeat), now=now)
    if args.json:
        print(json.dumps(r, ensure_ascii=False, indent=2, default=str))
        return 1 if r["failures"] else 0
    first, second = r["first_run"], r["second_run"]
    print(
        f"Risk review benchmark on {r['vendor']}: county {r['county']}, {r['households']:,} households, "
        f"{r['people']:,} people, review at {r['now']} (DEBUG {'on' if r['debug'] else 'off'})"
    )
    if r["default_rules_loaded"]:
        print(f"  (no review rules in the database: loaded the {r['default_rules_loaded']} default rules)")
    for label, key, note in (
        ("(a) SQL query         ", "sql", f"{r['new_clues_expected']:,} clues to raise"),
        (
            "(b) ORM candidates    ",
            "orm_candidates",
            f"{r['candidates']:,} candidates, the same {r['new_clues_expected']:,} clues",
        ),
    ):
        runs = r[key]
        best = min(runs, key=lambda f: f["seconds"])
        times = ", ".join(f"{f['seconds']:.2f}" for f in runs)
        print(f"  {label} {best['seconds']:6.2f} s  {_cpu(best)}  (runs {times}); {note}")
    print(
        f"      ORM candidates / SQL = {r['ratio_orm_candidates_to_sql']:.2f}x (target <= {TARGET_RATIO}x); "
        f"first review_county / SQL = {r['ratio_first_run_to_sql']:.2f}x"
    )
    serial = r["sql_serial"]
    print(
        f"      (SQL query without parallel workers, as a server-side cursor runs: {serial['seconds']:.2f} s "
        f"{_cpu(serial)}; ORM candidates / that = {r['ratio_orm_candidates_to_serial_sql']:.2f}x)"
    )
    counts = first["counts"]
    print(
        f"  (c) first review_county {first['seconds']:6.2f} s  {_cpu(first)}  {counts['clues']:,} clues inserted "
        f"({counts['under_open_case']:,} under an open case; {r['deleted_system_clues']:,} system clues "
        f"deleted before; target < {TARGET_SECONDS} s)"
    )
    print("      by rule: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts["by_rule"].items())))
    counts = second["counts"]
    after = r["sql_after_run"]
    print(
        f"  (d) second review_county {second['seconds']:5.2f} s  {_cpu(second)}  {counts['clues']:,} clues inserted "
        f"({counts['already_raised']:,} already raised); SQL query then {after['seconds']:.2f} s, {after['rows']} rows"
    )
    print(
        f"  peak RSS   {r['peak_rss_mb']:.0f} MB (after the candidates {r['rss_mb_after_candidates']:.0f} MB, "
        f"after the first run {r['rss_mb_after_first_run']:.0f} MB; target < {TARGET_RSS_MB} MB)"
    )
    print(
        f"  load avg   {' '.join(map(str, r['load_average_before']))} before, "
        f"{' '.join(map(str, r['load_average_after']))} after, on {r['cpus']} CPUs"
    )
    for failure in r["failures"]:
        print(f"  FAILED: {failure}")
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
