"""``manage.py restore_drill``: the backup and restore drill (PostgreSQL).

1. Takes a backup of the database with ``pg_dump`` (custom format) from an exported snapshot,
   and counts the original **in that same snapshot** (so the comparison holds while the
   county keeps working): every table of the application, and each household ledger (the
   live rule and the open spans of the ledgers over time).
2. Restores the backup with ``pg_restore`` into a scratch database made for the drill.
3. Counts the same in the restored database and compares: any difference fails the drill
   (exit status 1). The scratch database is dropped afterwards (``--keep`` keeps it); the
   dump is kept where ``--dump`` says (else in a temporary folder, removed).

The backup itself is the same command a county's nightly backup runs::

    pg_dump --format=custom --file=fanpin-$(date +%F).dump "$DATABASE_URL"
    pg_restore --jobs=2 --no-owner --dbname=<new database> fanpin-YYYY-MM-DD.dump
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote

import psycopg
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction
from django.utils import timezone

from households.models import Household
from monitoring.ledgers import HOUSEHOLD_LEDGERS, household_ledger_q
from monitoring.models import LedgerSpan


def _libpq(settings: dict) -> tuple[list[str], dict]:
    args = []
    if settings.get("HOST"):
        args += ["--host", settings["HOST"]]
    if settings.get("PORT"):
        args += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        args += ["--username", settings["USER"]]
    env = {**os.environ}
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = settings["PASSWORD"]
    return args, env


def _conninfo(settings: dict, name: str) -> str:
    parts = {
        "dbname": name,
        "host": settings.get("HOST"),
        "port": settings.get("PORT"),
        "user": settings.get("USER"),
    }
    if settings.get("PASSWORD"):
        parts["password"] = settings["PASSWORD"]
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def counts(alias: str) -> dict[str, int]:
    """Rows of every table of the application, and each household ledger, on ``alias``."""
    found: dict[str, int] = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        found[f"table {meta.db_table}"] = model._base_manager.using(alias).count()
    for ledger in HOUSEHOLD_LEDGERS:
        found[f"ledger {ledger} (rule)"] = (
            Household.objects.using(alias).filter(household_ledger_q(ledger)).count()
        )
        found[f"ledger {ledger} (open spans)"] = (
            LedgerSpan.objects.using(alias).filter(ledger=ledger, valid_to__isnull=True).count()
        )
    return found


def restored_counts(settings: dict, scratch: str) -> dict[str, int]:
    """The same counts in the restored database, by this command in a process of its own
    pointed at it (``--counts-only``): the running process's connections stay the original's."""
    user = quote(settings.get("USER") or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    url = f"postgres://{user}{password}{'@' if user else ''}{host}{port}/{scratch}"
    done = subprocess.run(
        [sys.executable, "manage.py", "restore_drill", "--counts-only"],
        cwd=settings_module_root(),
        env={**os.environ, "DATABASE_URL": url, "DATABASE_REPLICA_URL": ""},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def settings_module_root() -> str:
    from django.conf import settings as django_settings

    return str(django_settings.BASE_DIR)


class Command(BaseCommand):
    help = "Back up the database, restore it into a scratch database and compare counts and ledgers."

    def add_arguments(self, parser):
        parser.add_argument("--dump", help="where to write the backup (kept); default: a temporary file")
        parser.add_argument("--jobs", type=int, default=2, help="pg_restore's parallel jobs")
        parser.add_argument("--keep", action="store_true", help="keep the scratch database")
        parser.add_argument("--counts-only", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, dump=None, jobs=2, keep=False, counts_only=False, **options):
        if counts_only:  # the restored side (see restored_counts)
            self.stdout.write(json.dumps(counts("default")))
            return
        default = connections["default"]
        if default.vendor != "postgresql":
            raise CommandError("the restore drill needs PostgreSQL (DATABASE_URL=postgres://…)")
        for tool in ("pg_dump", "pg_restore"):
            if not shutil.which(tool):
                raise CommandError(f"{tool} is not installed (Debian: postgresql-client)")
        settings = default.settings_dict
        name = settings["NAME"]
        scratch = f"{name}_drill_{timezone.now():%Y%m%d%H%M%S}"[:63]
        folder = None if dump else tempfile.mkdtemp(prefix="restore-drill-")
        path = dump or os.path.join(folder, "backup.dump")
        args, env = _libpq(settings)
        made = False
        try:
            original, dumped = self._dump(settings, name, path, args, env)
            size = os.path.getsize(path) / 1048576
            self.stdout.write(f"backup: {path} ({size:.1f} MB) in {dumped:.1f} s")
            started = time.perf_counter()
            with default.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{scratch}"')
            made = True
            subprocess.run(
                ["pg_restore", *args, f"--jobs={jobs}", "--no-owner", "--dbname", scratch, path],
                check=True,
                env=env,
                capture_output=True,
            )
            self.stdout.write(f"restored into {scratch} in {time.perf_counter() - started:.1f} s")
            restored = restored_counts(settings, scratch)
        finally:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
            if made and not keep:
                with default.cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        differ = [(k, original[k], restored.get(k)) for k in original if original[k] != restored.get(k)]
        ledgers = {k: v for k, v in original.items() if k.startswith("ledger")}
        for key, value in ledgers.items():
            self.stdout.write(f"  {key}: {value:,} = {restored[key]:,}")
        rows = sum(v for k, v in original.items() if k.startswith("table"))
        tables = sum(1 for k in original if k.startswith("table"))
        if differ:
            for key, a, b in differ:
                self.stderr.write(f"DIFFERS {key}: original {a}, restored {b}")
            raise CommandError(f"the restored database differs in {len(differ)} counts")
        self.stdout.write(
            self.style.SUCCESS(
                f"restore drill passed: {tables} tables, {rows:,} rows and {len(ledgers)} ledger counts equal"
            )
        )

    def _dump(self, settings: dict, name: str, path: str, args: list, env: dict) -> tuple[dict, float]:
        """Dump from an exported snapshot and count the original in that snapshot."""
        with psycopg.connect(_conninfo(settings, name), autocommit=True) as exporter:
            exporter.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            snapshot = exporter.execute("SELECT pg_export_snapshot()").fetchone()[0]
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
                original = counts("default")
            started = time.perf_counter()
            subprocess.run(
                ["pg_dump", *args, "--format=custom", f"--snapshot={snapshot}", "--file", path, name],
                check=True,
                env=env,
                capture_output=True,
            )
            exporter.execute("COMMIT")
        return original, time.perf_counter() - started
