"""``manage.py run_task <task> [--area CODE] [--now ISO]``: run a periodic task here and now.

Runs in this process (no broker needed) under a run record, exactly as the worker would; prints
the counts. ``--now`` evaluates as of another moment (e.g. to rehearse the year-end list).
"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from accounts.errors import ServiceError, ValidationError
from monitoring.models import TaskName
from monitoring.services import runs
from monitoring.tasks import PLUGGED, SERVICES

#: Services of other apps' tasks, by dotted path (this app does not import the apps above it).


class Command(BaseCommand):
    help = "Run a periodic task now, in this process, and record the run."

    def add_arguments(self, parser):
        parser.add_argument("task", choices=TaskName.values)
        parser.add_argument("--area", default="", help="county, township or village code (default: all)")
        parser.add_argument("--now", default="", help="ISO date-time to evaluate as of (default: now)")

    def handle(self, *args, task, area, now, **options):
        when = None
        if now:
            when = parse_datetime(now)
            if when is None:
                raise CommandError(f"--now: not an ISO date-time: {now!r}")
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        service = SERVICES.get(task) or PLUGGED.get(task)
        if service is None:
            raise CommandError(f"{task} has no service here: it runs on its schedule or from /runs/")
        try:
            run = runs.task_run(task, lambda **kw: service(**kw), area_code=area, now=when)
        except ValidationError as exc:
            raise CommandError("; ".join(str(m) for m in exc.messages)) from None
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            json.dumps(
                {"run": run.pk, "status": run.status, "seconds": run.duration_seconds, **run.counts},
                ensure_ascii=False,
            )
        )
