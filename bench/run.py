"""``make bench``: every benchmark on PostgreSQL, on a county of 300,000 households.

Uses ``DATABASE_URL`` if set, else a local throwaway database ``fanpin_bench`` on
127.0.0.1:5432 (created if missing; kept between runs so the county is generated once —
``--fresh`` drops it first). Prints the figures the README quotes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fanpin_bench"


def _ensure_database(url: str, *, fresh: bool) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=300_000)
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the benchmark database")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres"):
        parser.error("the benchmarks run on PostgreSQL: set DATABASE_URL=postgres://…")
    if not os.environ.get("DATABASE_URL"):
        _ensure_database(url, fresh=args.fresh)
    env = {**os.environ, "DATABASE_URL": url}
    python = sys.executable
    check = subprocess.run(
        [
            python,
            "manage.py",
            "shell",
            "-c",
            "from households.models import Household; print(Household.objects.count())",
        ],
        env={**env},
        capture_output=True,
        text=True,
    )
    loaded = check.returncode == 0 and check.stdout.strip().splitlines()[-1:] == [str(args.households)]
    if not loaded:
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], env=env, check=True)
        print(f"== generating a county of {args.households:,} households (bench.generate)", flush=True)
        subprocess.run(
            [python, "-m", "bench.generate", "--households", str(args.households), "--flush"],
            env=env,
            check=True,
        )
    else:
        print(f"== county of {args.households:,} households already loaded (use --fresh to regenerate)")
    print("== API (bench.api)", flush=True)
    subprocess.run([python, "-m", "bench.api"], env=env, check=True)
    print("== risk review (bench.review)", flush=True)
    # each exits 1 when a target of the issue is missed: make bench fails, without a traceback
    review = subprocess.run([python, "-m", "bench.review"], env=env).returncode
    print("== deadline watch over 20,000 open cases (bench.watch)", flush=True)
    watch = subprocess.run([python, "-m", "bench.watch"], env=env).returncode
    # the watch's 20,000 cases would show up in the next run's API lists: remove them
    subprocess.run([python, "-m", "bench.watch", "--clean"], env=env, check=True)
    return review or watch


if __name__ == "__main__":
    sys.exit(main())
