"""Deadline watch benchmark on a loaded county (run ``bench.generate`` first on the same database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanpin_bench .venv/bin/python -m bench.watch

Set-up (a child process, timed and printed on its own, so its memory is not this process's):
``--cases`` open cases (20,000) on households of the county that have none, in a plausible
mix — identifying, provisional (green channel), monitored, secured tracking, exit in
progress — with the rows the services would have written: the case, its identification
steps (and exit steps) copied from the county's procedure definitions with their
``waits_for`` links, each step waiting, available or done with the dates of a simulated
history (most steps finish in time, some late), due dates, visit dates and assistance
measures; and a few hundred staff with areas (village cadres, township reviewers, county
approvers) so the notifications have recipients. Everything is written in bulk and tagged:
the cases are ``created_by`` the user ``bench-watch`` (whose name records the set-up), the
staff are named ``bench-watch-…``. A rerun with the same ``--now`` day, ``--cases`` and
``--seed`` reuses them; otherwise the tagged cases are deleted (raw SQL) and made again.
No risk types are attached to the cases (the watches do not read them), so the figures of
``bench.review`` on the same database do not change. The cases stay between runs; their
measures are department tasks, so ``bench.api``'s department task list, run on the same
database afterwards, lists them too. ``--clean`` deletes the cases (not the staff).

Then, from a clean state (every breach of the county's cases and every notification the
watches raise there deleted, the two tables vacuumed): a first ``deadline_watch`` (records
the breaches, sends the notifications and escalations) and a second one (must add nothing),
then ``visit_watch`` and ``measure_watch`` twice each — as the nightly tasks run them, for
every county — and, from a clean state again, the first ``deadline_watch`` once more in this
now warm process (as a long-lived worker runs it). Prints wall time, CPU seconds here and in
the database server, the counts each returns, what is due at ``now`` by the deadline
functions (to compare with the counts) and this process's peak RSS.

Targets (issue): deadline watch over 20,000 open cases < 5 s, memory < 500 MB. Exits 1
when one is missed or a second run is not idempotent.

DEBUG is off (no query log) unless ``DJANGO_DEBUG`` is set, and notification emails are not
queued (``NOTIFICATION_EMAIL=0``): without a Celery broker the digest task would run eagerly
on the watch's commit, inside the timed call, while in production it is queued for a worker. The digest is
timed on its own after the watches instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

from bench.review import _county, _default_now, _rss_mb, _timer

TARGET_SECONDS = 5
TARGET_RSS_MB = 500
TAG = "bench-watch"
CHUNK = 2000

#: Share of each status among the open cases: most households are followed for months or
#: years after identification; identification and exit procedures last a few weeks.
MIX = (
    ("identifying", 0.10),
    ("provisional", 0.02),
    ("monitored", 0.58),
    ("secured_tracking", 0.20),
    ("exit_in_progress", 0.10),
)
LATE_STEP_SHARE = 0.08  # steps finished after their limit
LATE_CASE_SHARE = 0.10  # identification / exit procedures running past their deadline
LATE_VISIT_SHARE = 0.07  # followed households whose visit is overdue
NO_MEASURE_SHARE = 0.05  # followed households without a measure in place after the limit

#: The keys of the notifications the three watches send (deleted for a clean state).
WATCH_KEYS = r"^((step|case|exit)-(overdue|due)|breach|visit|measure):"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("NOTIFICATION_EMAIL", "0")
    import django

    django.setup()


def _parse_now(value: str | None) -> dt.datetime:
    if not value:
        return _default_now()
    from zoneinfo import ZoneInfo

    now = dt.datetime.fromisoformat(value)
    return now if now.tzinfo else now.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StepDef:
    id: int
    code: str
    name: str
    kind: str
    actor_role: str
    area_level: str
    limit: int
    sort_order: int
    deps: tuple[int, ...]  # indices of the steps it waits for


def _step_defs(procedure) -> list[_StepDef]:
    """The procedure's steps in an order where every step comes after those it waits for."""
    rows = list(procedure.steps.order_by("sort_order", "id").prefetch_related("waits_for"))
    ordered, placed = [], set()
    while len(ordered) < len(rows):
        ready = [r for r in rows if r.pk not in placed and all(w.pk in placed for w in r.waits_for.all())]
        if not ready:
            sys.exit(f"procedure {procedure} has a cycle")
        ordered.extend(ready)
        placed.update(r.pk for r in ready)
    index = {r.pk: i for i, r in enumerate(ordered)}
    return [
        _StepDef(
            r.pk,
            r.code,
            r.name,
            r.kind,
            r.actor_role,
            r.area_level,
            r.time_limit_days,
            r.sort_order,
            tuple(index[w.pk] for w in r.waits_for.all()),
        )
        for r in ordered
    ]


def _duration(rng: random.Random, limit: int) -> int:
    if rng.random() < LATE_STEP_SHARE:
        return limit + rng.randint(1, 4)
    return rng.randint(limit // 3, limit)


def _simulate(rng, steps: list[_StepDef], start: dt.date, today: dt.date, cal, *, finished: bool) -> list:
    """A procedure run from ``start``: per step (status, available day, due date, done day).

    Every event happens before ``today`` (the watch runs at night). ``finished``: every step
    done; else the steps not done by yesterday are available (their prerequisites done) or
    waiting, and the final approval stays open (the case is still in the procedure)."""
    from monitoring.rules import deadlines

    out: list = []
    for s in steps:
        deps = [out[j] for j in s.deps]
        if any(d[0] != "done" for d in deps):
            out.append(("waiting", None, None, None))
            continue
        available = max((d[3] for d in deps), default=start)
        due = deadlines.add_days(available, s.limit, cal)
        done = available + dt.timedelta(days=_duration(rng, s.limit))
        if finished or done < today:
            out.append(("done", available, due, done))
        else:
            out.append(("available", available, due, None))
    if not finished and all(o[0] == "done" for o in out):
        _, available, due, _ = out[-1]
        out[-1] = ("available", available, due, None)
    return out


def _at(rng: random.Random, day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8, 30), tzinfo=tz) + dt.timedelta(minutes=rng.randint(0, 540))


def _steps(case_id: int, procedure_kind: str, defs: list[_StepDef], run: list, rng, tz) -> list:
    from monitoring.models import CaseStep

    made = []
    for d, (status, available, due, done) in zip(defs, run, strict=True):
        available_at = _at(rng, available, tz) if available else None
        completed_at = None
        if done is not None:
            completed_at = _at(rng, done, tz)
            if completed_at <= available_at:
                completed_at = available_at + dt.timedelta(minutes=rng.randint(20, 240))
        made.append(
            CaseStep(
                case_id=case_id,
                definition_id=d.id,
                procedure_kind=procedure_kind,
                code=d.code,
                name=d.name,
                kind=d.kind,
                actor_role=d.actor_role,
                area_level=d.area_level,
                time_limit_days=d.limit,
                sort_order=d.sort_order,
                status=status,
                available_at=available_at,
                due_date=due,
                completed_at=completed_at,
                duration_days=(done - available).days if done else None,
                data={},
            )
        )
    return made


def _finished_identification(rng, defs, identified_by: dt.date, today, cal):
    """An identification run whose approval falls on or before ``identified_by``."""
    start = identified_by - dt.timedelta(days=16)
    state = rng.getstate()
    run = _simulate(rng, defs, start, today, cal, finished=True)
    last = max(r[3] for r in run)
    if last > identified_by:  # a slow run: start it earlier, with the same durations
        rng.setstate(state)
        start -= last - identified_by
        run = _simulate(rng, defs, start, today, cal, finished=True)
    return start, run


def _bench_user():
    from accounts.models import Role, User

    user, _ = User.objects.get_or_create(
        username=TAG, defaults={"role": Role.OPERATOR, "password": "!", "is_active": False}
    )
    return user


def ensure_staff(county: str, seed: int) -> dict:
    """Village cadres (one or two in nine villages out of ten), two reviewers per township,
    three county approvers; created once, by name."""
    from accounts.models import Area, AreaLevel, Role, User

    prefix = county[:6]
    wanted: list[tuple[str, str, int]] = []
    for area_id, code in Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=prefix).values_list(
        "id", "code"
    ):
        rng = random.Random(f"{seed}:{code}")
        if rng.random() < 0.9:
            for i in range(1 + (rng.random() < 0.5)):
                wanted.append((f"{TAG}-cadre-{code}-{i}", Role.VILLAGE_CADRE, area_id))
    for area_id, code in Area.objects.filter(level=AreaLevel.TOWNSHIP, code__startswith=prefix).values_list(
        "id", "code"
    ):
        wanted += [(f"{TAG}-township-{code}-{i}", Role.TOWNSHIP_REVIEWER, area_id) for i in range(2)]
    county_id = Area.objects.get(code=county).pk
    wanted += [(f"{TAG}-county-{i}", Role.COUNTY_APPROVER, county_id) for i in range(3)]
    existing = set(User.objects.filter(username__startswith=f"{TAG}-").values_list("username", flat=True))
    User.objects.bulk_create(
        [
            User(username=name, role=role, full_name="基准测试", password="!", is_active=True)
            for name, role, _a in wanted
            if name not in existing
        ],
        batch_size=CHUNK,
    )
    ids = dict(User.objects.filter(username__startswith=f"{TAG}-").values_list("username", "id"))
    through = User.areas.through
    through.objects.bulk_create(
        [through(user_id=ids[name], area_id=area_id) for name, _r, area_id in wanted],
        batch_size=CHUNK,
        ignore_conflicts=True,
    )
    return dict(Counter(role for _n, role, _a in wanted))


def delete_cases(user_id: int) -> int:
    """Delete the tagged cases and every row that hangs from them (raw SQL: the ORM's
    cascade would load them all)."""
    from django.db import connection, transaction

    from monitoring.models import (
        AssistanceMeasure,
        Breach,
        CaseStep,
        Clue,
        ExitAssessment,
        MonitoringCase,
        Objection,
        PublicNotice,
        StatusChange,
        Visit,
    )

    handled = {Clue, Visit, CaseStep, PublicNotice, Objection, Breach, AssistanceMeasure, ExitAssessment}
    handled.add(StatusChange)
    unknown = [
        r.related_model.__name__
        for r in MonitoringCase._meta.related_objects
        if r.related_model not in handled
    ]
    if unknown:
        sys.exit(f"cannot delete the bench cases: {', '.join(unknown)} refer to cases")
    case = MonitoringCase._meta.db_table
    ids = f"SELECT id FROM {case} WHERE created_by_id = %s"
    steps = f"SELECT id FROM {CaseStep._meta.db_table} WHERE case_id IN ({ids})"
    statements = [
        f"UPDATE {Clue._meta.db_table} SET case_id = NULL WHERE case_id IN ({ids})",
        f"UPDATE {Visit._meta.db_table} SET case_id = NULL WHERE case_id IN ({ids})",
        f"DELETE FROM {Objection._meta.db_table} WHERE case_id IN ({ids})",
        f"DELETE FROM {PublicNotice._meta.db_table} WHERE case_id IN ({ids})",
        f"DELETE FROM {Breach._meta.db_table} WHERE case_id IN ({ids})",
        f"DELETE FROM {CaseStep.waits_for.through._meta.db_table} WHERE from_casestep_id IN ({steps})",
        f"DELETE FROM {CaseStep._meta.db_table} WHERE case_id IN ({ids})",
        f"DELETE FROM {AssistanceMeasure._meta.db_table} WHERE case_id IN ({ids})",
        f"DELETE FROM {ExitAssessment._meta.db_table} WHERE case_id IN ({ids})",
        f"DELETE FROM {StatusChange._meta.db_table} WHERE case_id IN ({ids})",
        f"DELETE FROM {MonitoringCase.risk_types.through._meta.db_table} WHERE monitoringcase_id IN ({ids})",
        f"DELETE FROM {case} WHERE created_by_id = %s",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, [user_id])
        return cursor.rowcount


def _households(prefix: str, *, no_labour: bool, n: int, seed: int) -> list[tuple[int, str]]:
    """``n`` households of the county with no open case, spread at random (by a seeded hash)."""
    from django.db import connection

    from households.models import Household
    from monitoring.models import OPEN_CASE_STATUSES, MonitoringCase

    sql = f"""
        SELECT h.id, h.area_code FROM {Household._meta.db_table} h
        WHERE h.area_code LIKE %s AND h.no_labour_safety_net = %s
          AND NOT EXISTS (SELECT 1 FROM {MonitoringCase._meta.db_table} m
                          WHERE m.household_id = h.id AND m.status = ANY(%s))
        ORDER BY md5(h.id::text || %s) LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix + "%", no_labour, [str(s) for s in OPEN_CASE_STATUSES], str(seed), n])
        return cursor.fetchall()


def _plan(n: int) -> list[tuple[str, int]]:
    counts = [(status, round(n * share)) for status, share in MIX]
    counts[2] = ("monitored", counts[2][1] + n - sum(c for _s, c in counts))
    return counts


def _case_rows(status, hid, area, rng, *, today, tz, cal, cs, ident, exit_defs, exit_days, user_id):
    """One case (unsaved) with its step runs and measures, as the services would have left it."""
    from monitoring.models import MonitoringCase
    from monitoring.rules import deadlines

    case = MonitoringCase(
        household_id=hid,
        area_code=area,
        status=status,
        procedure_id=cs.identification_procedure_id,
        created_by_id=user_id,
    )
    runs, measures = [], []
    if status in ("identifying", "provisional"):
        late = rng.random() < LATE_CASE_SHARE
        age = (
            rng.randint(cs.case_deadline_days + 1, 2 * cs.case_deadline_days)
            if late
            else rng.randint(1, cs.case_deadline_days)
        )
        case.found_date = today - dt.timedelta(days=age)
        opened = min(case.found_date + dt.timedelta(days=rng.randint(0, 2)), today - dt.timedelta(days=1))
        case.opened_at = _at(rng, opened, tz)
        case.due_date = deadlines.add_days(case.found_date, cs.case_deadline_days, cal)
        runs.append(("identification", _simulate(rng, ident, opened, today, cal, finished=False)))
        if status == "provisional":
            case.green_channel = True
            case.provisional_on = min(
                opened + dt.timedelta(days=rng.randint(0, 3)), today - dt.timedelta(days=1)
            )
        case.version = sum(r[0] == "done" for r in runs[0][1]) + 1
        return case, runs, measures
    # identified some time ago: the whole identification procedure done
    if status == "monitored":
        age = rng.randint(1, cs.measure_deadline_days) if rng.random() < 0.1 else rng.randint(31, 730)
    elif status == "secured_tracking":
        age = rng.randint(60, 1500)
    else:
        age = rng.randint(200, 1500)
    start, run = _finished_identification(rng, ident, today - dt.timedelta(days=age), today, cal)
    runs.append(("identification", run))
    case.found_date = start - dt.timedelta(days=rng.randint(0, 2))
    case.opened_at = _at(rng, start, tz)
    case.due_date = deadlines.add_days(case.found_date, cs.case_deadline_days, cal)
    case.identified_on = max(r[3] for r in run)
    case.identified_at = _at(rng, case.identified_on, tz)
    case.category = rng.choice(["unstable", "marginal", "sudden"])
    first_visit = deadlines.add_days(case.identified_on, cs.visit_interval_days)
    if first_visit >= today:
        case.next_visit_due = first_visit
    elif rng.random() < LATE_VISIT_SHARE:
        case.next_visit_due = max(today - dt.timedelta(days=rng.randint(1, 25)), first_visit)
    else:
        case.next_visit_due = today + dt.timedelta(days=rng.randint(0, cs.visit_interval_days - 1))
    if status == "exit_in_progress":
        late = rng.random() < LATE_CASE_SHARE
        since = rng.randint(exit_days + 1, exit_days + 15) if late else rng.randint(1, exit_days)
        case.exit_procedure_id = cs.exit_procedure_id
        case.exit_mode = "natural" if rng.random() < 0.2 else "assistance"
        case.exit_started_on = today - dt.timedelta(days=since)
        case.exit_due_date = deadlines.add_days(case.exit_started_on, exit_days, cal)
        runs.append(("exit", _simulate(rng, exit_defs, case.exit_started_on, today, cal, finished=False)))
    case.version = sum(r[0] == "done" for _k, run in runs for r in run) + 2
    # measures: in place after the county's limit, except for a few; planned or started before
    limit_passed = case.identified_on < today - dt.timedelta(days=cs.measure_deadline_days)
    if limit_passed and rng.random() < NO_MEASURE_SHARE:
        statuses = rng.choice([[], ["planned"], ["stopped"]])
    elif limit_passed:
        statuses = [
            rng.choice(["in_progress", "implemented", "implemented"]) for _ in range(rng.randint(1, 3))
        ]
    else:
        statuses = [rng.choice(["planned", "in_progress"])]
    for s in statuses:
        begin = case.identified_on + dt.timedelta(days=rng.randint(0, 20))
        measures.append((s, begin))
    return case, runs, measures


def setup_cases(*, n: int, seed: int, now: dt.datetime, rebuild: bool = False) -> dict:
    from django.db import connection, transaction

    from monitoring.county import calendar_for, settings_for
    from monitoring.models import AssistanceMeasure, CaseStep, Measure, MonitoringCase
    from monitoring.rules import deadlines
    from monitoring.services import ledgers as ledger_spans

    started = time.perf_counter()
    county = _county()
    prefix = county[:6]
    today = deadlines.local_date(now)
    tz = deadlines.SHANGHAI
    cs = settings_for(county)
    if cs.identification_procedure is None or cs.exit_procedure is None:
        sys.exit("the county has no identification or exit procedure")
    cal = calendar_for(county, cs)
    ident, exit_defs = _step_defs(cs.identification_procedure), _step_defs(cs.exit_procedure)
    exit_days = cs.exit_procedure.planned_days()
    user = _bench_user()
    staff = ensure_staff(county, seed)
    marker = f"{today.isoformat()}|{n}|{seed}"
    tagged = MonitoringCase.objects.open().filter(created_by=user).count()
    out = {"county": county, "cases": n, "seed": seed, "staff": staff, "marker": marker}
    if not rebuild and user.full_name == marker and tagged == n:
        out.update(reused=True, seconds=round(time.perf_counter() - started, 2))
        return out
    out["deleted"] = delete_cases(user.pk)
    plan = _plan(n)
    secured = dict(plan)["secured_tracking"]
    pool = {
        True: _households(prefix, no_labour=True, n=secured, seed=seed),
        False: _households(prefix, no_labour=False, n=n - secured, seed=seed),
    }
    if len(pool[True]) + len(pool[False]) < n:
        sys.exit(f"only {len(pool[True]) + len(pool[False]):,} households without an open case")
    work = [
        (status, *pool[status == "secured_tracking"].pop()) for status, count in plan for _ in range(count)
    ]
    rng = random.Random(seed)
    rng.shuffle(work)
    catalogue = list(Measure.objects.filter(is_active=True).values_list("id", "department_id"))
    counts = Counter()
    with transaction.atomic():
        for begin in range(0, len(work), CHUNK):
            made = [
                _case_rows(
                    status,
                    hid,
                    area,
                    rng,
                    today=today,
                    tz=tz,
                    cal=cal,
                    cs=cs,
                    ident=ident,
                    exit_defs=exit_defs,
                    exit_days=exit_days,
                    user_id=user.pk,
                )
                for status, hid, area in work[begin : begin + CHUNK]
            ]
            MonitoringCase.objects.bulk_create([c for c, _r, _m in made], batch_size=CHUNK)
            steps, measures = [], []
            for case, runs, planned in made:
                for kind, run in runs:
                    steps += _steps(
                        case.pk, kind, ident if kind == "identification" else exit_defs, run, rng, tz
                    )
                for status, begin_on in planned:
                    measure_id, department_id = rng.choice(catalogue)
                    measures.append(
                        AssistanceMeasure(
                            case_id=case.pk,
                            measure_id=measure_id,
                            department_id=department_id,
                            planned_start=begin_on,
                            planned_end=begin_on + dt.timedelta(days=rng.randint(30, 180)),
                            actual_date=begin_on + dt.timedelta(days=rng.randint(5, 60))
                            if status == "implemented"
                            else None,
                            status=status,
                            created_by_id=user.pk,
                        )
                    )
            CaseStep.objects.bulk_create(steps, batch_size=CHUNK)
            AssistanceMeasure.objects.bulk_create(measures, batch_size=CHUNK)
            counts["steps"] += len(steps)
            counts["measures"] += len(measures)
        # the steps' prerequisites, as start_procedure copies them from the definitions
        step = CaseStep._meta.db_table
        waits = CaseStep.waits_for.through._meta.db_table
        definition_waits = cs.identification_procedure.steps.model.waits_for.through._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {waits} (from_casestep_id, to_casestep_id)
                SELECT a.id, b.id
                FROM {MonitoringCase._meta.db_table} m
                JOIN {step} a ON a.case_id = m.id
                JOIN {definition_waits} w ON w.from_stepdefinition_id = a.definition_id
                JOIN {step} b ON b.case_id = m.id AND b.definition_id = w.to_stepdefinition_id
                WHERE m.created_by_id = %s
                """,
                [user.pk],
            )
            counts["waits_for"] = cursor.rowcount
        user.full_name = marker
        user.save(update_fields=["full_name"])
        # cases written as rows (some in the exit procedure, which puts a household in ledger 1)
        counts.update(ledger_spans.sync_ledger_spans(at=now, area_prefix=prefix))
    with connection.cursor() as cursor:
        cursor.execute(
            f"ANALYZE {MonitoringCase._meta.db_table}, {step}, {waits}, {AssistanceMeasure._meta.db_table}"
        )
    out.update(reused=False, seconds=round(time.perf_counter() - started, 2), **counts)
    return out


def due_profile(county: str, now: dt.datetime) -> dict:
    """What is due soon or overdue at ``now`` in the county (by the deadline functions), to
    compare with the watches' counts."""
    from django.db.models import Exists, OuterRef

    from monitoring.county import calendar_for, settings_for
    from monitoring.models import AssistanceMeasure, CaseStep, MonitoringCase
    from monitoring.rules import deadlines

    cs = settings_for(county)
    cal = calendar_for(county, cs)
    today = deadlines.local_date(now)
    prefix = county[:6]
    cases = MonitoringCase.objects.open().filter(area_code__startswith=prefix)
    out: dict = {"open_cases": dict(Counter(cases.values_list("status", flat=True)))}

    due_cases: set[int] = set()

    def states(rows, soon):
        c = Counter()
        for case_id, due in rows:
            state = deadlines.deadline(due, now=now, due_soon_days=soon, calendar=cal).state.value
            c[state] += 1
            if state in ("overdue", "due_soon"):
                due_cases.add(case_id)
        return {"total": sum(c.values()), "overdue": c["overdue"], "due_soon": c["due_soon"]}

    running = ["identifying", "provisional", "exit_in_progress"]
    steps = CaseStep.objects.filter(
        status="available", case__status__in=running, case__area_code__startswith=prefix
    ).values_list("case_id", "due_date")
    out["available_steps"] = states(steps, deadlines.step_due_soon_days(cs.due_soon_days))
    out["identification_cases"] = states(
        cases.filter(status__in=["identifying", "provisional"]).values_list("pk", "due_date"),
        cs.due_soon_days,
    )
    out["exit_cases"] = states(
        cases.filter(status="exit_in_progress").values_list("pk", "exit_due_date"), cs.due_soon_days
    )
    out["cases_with_deadline_due"] = len(due_cases)
    followed = cases.filter(status__in=["monitored", "provisional", "secured_tracking", "exit_in_progress"])
    out["visits_overdue"] = followed.filter(next_visit_due__lt=today).count()
    in_place = AssistanceMeasure.objects.filter(
        case=OuterRef("pk"), status__in=["in_progress", "implemented"]
    )
    out["without_measures"] = (
        cases.filter(
            status__in=["monitored", "secured_tracking"],
            identified_on__lt=today - dt.timedelta(days=cs.measure_deadline_days),
        )
        .filter(~Exists(in_place))
        .count()
    )
    out["steps_in_running_cases"] = CaseStep.objects.filter(
        case__status__in=running, case__area_code__startswith=prefix
    ).count()
    out["steps"] = CaseStep.objects.filter(case__area_code__startswith=prefix).count()
    return out


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


def reset_watch_state(prefix: str) -> dict:
    """Delete the breaches of the county's cases and the notifications the watches sent there."""
    from django.db import connection, transaction

    from accounts.models import Notification
    from monitoring.models import Breach, MonitoringCase

    breach, notification = Breach._meta.db_table, Notification._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {breach} b USING {MonitoringCase._meta.db_table} m "
            "WHERE b.case_id = m.id AND m.area_code LIKE %s",
            [prefix + "%"],
        )
        breaches = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {notification} WHERE area_code LIKE %s AND key ~ %s", [prefix + "%", WATCH_KEYS]
        )
        notifications = cursor.rowcount
    with connection.cursor() as cursor:  # autocommit: the dead rows go, so reruns start alike
        cursor.execute(f"VACUUM ANALYZE {breach}, {notification}")
    return {"breaches": breaches, "notifications": notifications}


def run(*, now: dt.datetime | None = None, setup: dict | None = None) -> dict:
    from django.conf import settings
    from django.db import connection

    from accounts.models import Notification
    from accounts.notifications import notifications_email
    from monitoring.models import Breach
    from monitoring.services.watch import deadline_watch, measure_watch, visit_watch

    county = _county()
    now = now or _default_now()
    results: dict = {
        "vendor": connection.vendor,
        "county": county,
        "now": now.isoformat(),
        "debug": settings.DEBUG,
        "setup": setup,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    results["profile"] = due_profile(county, now)
    results["reset"] = reset_watch_state(county[:6])
    timed = _timer()

    def watch(fn):
        before = Notification.objects.count(), Breach.objects.count()
        counts, figures = timed(lambda: fn(now=now))
        figures["counts"] = counts
        figures["new_notifications"] = Notification.objects.count() - before[0]
        figures["new_breaches"] = Breach.objects.count() - before[1]
        return figures

    results["deadline_first"] = watch(deadline_watch)
    results["rss_mb_after_deadline_watch"] = _rss_mb()
    results["deadline_second"] = watch(deadline_watch)
    results["visit_first"] = watch(visit_watch)
    results["visit_second"] = watch(visit_watch)
    results["measure_first"] = watch(measure_watch)
    results["measure_second"] = watch(measure_watch)
    # the first run again, from a clean state, in this now warm process (URL resolver, caches):
    # as a long-lived worker runs it
    reset_watch_state(county[:6])
    results["deadline_first_warm"] = watch(deadline_watch)
    emailed, results["email_digest"] = timed(lambda: notifications_email(now=now))
    results["email_digest"]["people_emailed"] = emailed
    results["peak_rss_mb"] = _rss_mb()
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    failures = []
    first = results["deadline_first"]["seconds"]
    if first > TARGET_SECONDS:
        failures.append(f"first deadline_watch {first:.2f} s > {TARGET_SECONDS} s")
    if results["peak_rss_mb"] > TARGET_RSS_MB:
        failures.append(f"peak RSS {results['peak_rss_mb']:.0f} MB > {TARGET_RSS_MB} MB")
    for name in ("deadline_second", "visit_second", "measure_second"):
        r = results[name]
        if r["new_notifications"] or r["new_breaches"]:
            failures.append(
                f"{name.replace('_', ' ')} run not idempotent: {r['new_notifications']} notifications, "
                f"{r['new_breaches']} breaches"
            )
    results["failures"] = failures
    return results


def _cpu(f: dict) -> str:
    server = f"{f['server_cpu']:.2f}" if f["server_cpu"] is not None else "n/a"
    return f"[cpu {f['cpu']:.2f} s here, {server} s server]"


def _states(s: dict) -> str:
    return f"{s['overdue']:,} overdue, {s['due_soon']:,} due soon of {s['total']:,}"


def report(r: dict) -> None:
    s, p = r["setup"], r["profile"]
    print(
        f"Deadline watch benchmark on {r['vendor']}: county {r['county']}, watch at {r['now']} "
        f"(DEBUG {'on' if r['debug'] else 'off'})"
    )
    if s:
        what = (
            "reused"
            if s["reused"]
            else f"made {s['cases']:,} cases, {s['steps']:,} steps, {s['waits_for']:,} step links, "
            f"{s['measures']:,} measures ({s['deleted']:,} old bench cases deleted)"
        )
        print(
            f"  set-up     {s['seconds']:6.2f} s  {what}; peak RSS {s['peak_rss_mb']:.0f} MB (child process)"
        )
        print("             staff: " + ", ".join(f"{role} {n}" for role, n in sorted(s["staff"].items())))
    total = sum(p["open_cases"].values())
    due = p["cases_with_deadline_due"]
    print(
        f"  open cases {total:,}: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(p["open_cases"].items(), key=lambda kv: -kv[1]))
        + f"; {p['steps']:,} steps ({p['steps_in_running_cases']:,} in running procedures)"
    )
    print(
        f"  due now    available steps {_states(p['available_steps'])}; identification cases "
        f"{_states(p['identification_cases'])}; exits {_states(p['exit_cases'])}; "
        f"visits overdue {p['visits_overdue']:,}; without measures {p['without_measures']:,}"
    )
    print(
        f"             cases with a step or procedure deadline due soon or overdue: {due:,} of {total:,} "
        f"({100 * due / total:.1f} %)"
    )
    print(
        f"  reset      {r['reset']['breaches']:,} breaches and {r['reset']['notifications']:,} watch "
        "notifications deleted before the first run"
    )
    for label, key in (
        ("deadline_watch 1st", "deadline_first"),
        ("deadline_watch 2nd", "deadline_second"),
        ("visit_watch 1st   ", "visit_first"),
        ("visit_watch 2nd   ", "visit_second"),
        ("measure_watch 1st ", "measure_first"),
        ("measure_watch 2nd ", "measure_second"),
    ):
        f = r[key]
        counts = ", ".join(f"{k} {v:,}" for k, v in f["counts"].items())
        print(
            f"  {label} {f['seconds']:6.2f} s  {_cpu(f)}  {counts}; "
            f"+{f['new_notifications']:,} notifications, +{f['new_breaches']:,} breaches"
        )
    f = r["deadline_first_warm"]
    print(
        f"  deadline_watch 1st again, from a clean state in this now warm process (as a long-lived worker):"
        f" {f['seconds']:.2f} s {_cpu(f)}, +{f['new_notifications']:,} notifications"
    )
    e = r["email_digest"]
    print(
        f"  (email digest task, queued after commit in production: {e['seconds']:.2f} s {_cpu(e)}, "
        f"{e['people_emailed']} people emailed)"
    )
    print(
        f"  targets    first deadline_watch {r['deadline_first']['seconds']:.2f} s (< {TARGET_SECONDS} s); "
        f"peak RSS {r['peak_rss_mb']:.0f} MB (after deadline_watch {r['rss_mb_after_deadline_watch']:.0f} MB;"
        f" < {TARGET_RSS_MB} MB)"
    )
    print(
        f"  load avg   {' '.join(map(str, r['load_average_before']))} before, "
        f"{' '.join(map(str, r['load_average_after']))} after, on {r['cpus']} CPUs"
    )
    for failure in r["failures"]:
        print(f"  FAILED: {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.watch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", type=int, default=20_000, help="open bench cases to set up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--now", default=None, help="ISO date-time of the watch (default: 22 Nov 02:00 local)"
    )
    parser.add_argument("--rebuild", action="store_true", help="make the bench cases again even if present")
    parser.add_argument(
        "--clean",
        action="store_true",
        help="delete the bench cases and the breaches and notifications of the watches",
    )
    parser.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to the benchmark database (this inserts and deletes cases)")
    _setup()
    now = _parse_now(args.now)
    if args.clean:
        user = _bench_user()
        deleted = delete_cases(user.pk)
        reset = reset_watch_state(_county()[:6])
        print(
            f"deleted {deleted:,} bench cases, {reset['breaches']:,} breaches, {reset['notifications']:,} notifications"
        )
        return 0
    if args.setup_only:
        figures = setup_cases(n=args.cases, seed=args.seed, now=now, rebuild=args.rebuild)
        figures["peak_rss_mb"] = _rss_mb()
        print(json.dumps(figures))
        return 0
    # the set-up in a child process: its memory is not the watch's
    child = [sys.executable, "-m", "bench.watch", "--setup-only", "--cases", str(args.cases)]
    child += ["--seed", str(args.seed), "--now", now.isoformat()] + (["--rebuild"] if args.rebuild else [])
    done = subprocess.run(child, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        return done.returncode
    setup = json.loads(done.stdout.strip().splitlines()[-1])
    r = run(now=now, setup=setup)
    if args.json:
        print(json.dumps(r, ensure_ascii=False, indent=2, default=str))
    else:
        report(r)
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
