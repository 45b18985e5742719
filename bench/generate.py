"""Time generating a demo county (households/demo.py) on the database in ``DATABASE_URL``.

    createdb -h 127.0.0.1 -U postgres fanpin_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanpin_bench \\
        .venv/bin/python -m bench.generate --households 300000

Migrates the database first (a no-op when it is up to date). The database must have no
households of the county yet; ``--flush`` empties every table first (``manage.py flush``) and
reloads the reference defaults. Prints wall seconds, rows per second, this process's CPU
seconds and peak memory (``resource.getrusage``) and, when PostgreSQL runs on this machine,
the CPU seconds of its server process, so a busy machine shows as wall ≫ CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _backend_cpu(pid: int | None) -> float | None:
    """CPU seconds of a local PostgreSQL server process (from /proc), else None."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run(
    *,
    households: int = 300_000,
    seed: int = 1,
    batch_size: int = 5000,
    history: bool = True,
    flush: bool = False,
    county_code: str | None = None,
    year: int | None = None,
) -> dict:
    """Generate once and return the figures (also used by other benchmark scripts)."""
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection

    from households import demo
    from households.models import Household
    from monitoring import defaults

    call_command("migrate", verbosity=0, interactive=False)
    if flush:
        call_command("flush", verbosity=0, interactive=False)
        defaults.load_all(apps)
    county_code = county_code or demo.DEFAULT_COUNTY_CODE
    if Household.objects.filter(area_code__startswith=county_code[:6]).exists():
        raise SystemExit(
            f"{connection.settings_dict['NAME']} already has households of {county_code}: "
            "use an empty database or --flush"
        )
    pid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
    load_before = os.getloadavg()[0]
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    backend_before = _backend_cpu(pid)
    started = time.perf_counter()
    summary = demo.generate_county(
        households=households,
        seed=seed,
        county_code=county_code,
        year=year,
        history=history,
        batch_size=batch_size,
    )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    backend_after = _backend_cpu(pid)
    db_size = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            db_size = cursor.fetchone()[0]
    return {
        "database": connection.vendor,
        "households": summary.households,
        "persons": summary.persons,
        "income_records": summary.incomes,
        "helpers": summary.helpers,
        "assignments": summary.assignments,
        "areas": summary.areas,
        "history_rows": summary.history_rows,
        "rows": summary.rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(summary.rows / seconds) if seconds else None,
        "households_per_second": round(summary.households / seconds) if seconds else None,
        "process_cpu_seconds": round(
            usage.ru_utime - usage_before.ru_utime + usage.ru_stime - usage_before.ru_stime, 2
        ),
        "server_cpu_seconds": (
            round(backend_after - backend_before, 2)
            if backend_before is not None and backend_after is not None
            else None
        ),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "database_mb": round(db_size / 2**20) if db_size is not None else None,
        "load_average_before": round(load_before, 2),
        "cpus": os.cpu_count(),
        "phases": {name: round(s, 2) for name, s in summary.phases.items()},
        "seed": seed,
        "batch_size": batch_size,
        "history": history,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--no-history", action="store_true", help="without the creation history rows")
    parser.add_argument("--flush", action="store_true", help="empty every table of the database first")
    parser.add_argument("--county-code", default=None)
    parser.add_argument("--year", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a throwaway database (this writes hundreds of thousands of rows)")
    _setup()
    figures = run(
        households=args.households,
        seed=args.seed,
        batch_size=args.batch_size,
        history=not args.no_history,
        flush=args.flush,
        county_code=args.county_code,
        year=args.year,
    )
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    f = figures
    print(f"generate_county on {f['database']}: {f['households']:,} households, seed {f['seed']}")
    print(
        f"  rows       {f['rows']:,} (persons {f['persons']:,}, income {f['income_records']:,}, "
        f"helpers {f['helpers']:,}, assignments {f['assignments']:,}, history {f['history_rows']:,})"
    )
    print(
        f"  wall       {f['seconds']:.1f} s  ({f['rows_per_second']:,} rows/s, {f['households_per_second']:,} households/s)"
    )
    server = f"{f['server_cpu_seconds']:.1f} s" if f["server_cpu_seconds"] is not None else "n/a"
    print(f"  cpu        {f['process_cpu_seconds']:.1f} s this process, {server} database server process")
    print(f"  peak RSS   {f['peak_rss_mb']:.0f} MB")
    if f["database_mb"] is not None:
        print(f"  database   {f['database_mb']:,} MB")
    print(f"  load avg   {f['load_average_before']} before the run on {f['cpus']} CPUs")
    print("  phases     " + ", ".join(f"{k} {v:.1f}s" for k, v in f["phases"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
