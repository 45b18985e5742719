"""The emergency calls' minute escalation over 10,000 open calls (run ``bench.generate`` first).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fanpin_bench .venv/bin/python -m bench.calls

Set-up: ``--calls`` (10,000) open calls on households of the county that have none, each with
the default chain's five hops as ``call_raise`` plans them (the helper contact notified at the
call, the responsible helper due 5 minutes later, the doctor 15, the village cadre 25, the
township 40), raised at staggered times in the ``--spread`` minutes (20) before ``now``, with
recipients among a few hundred bench staff (``bench-calls-…``). Everything is written in bulk;
the calls carry the note ``bench-calls`` and are deleted first, so a run starts clean.

Then, in a process that has loaded the URL conf and the translations as a worker has,
``call_escalation(now=...)`` — the minute task — at ``now`` (every call has one to three
hops due: about 20,000 hops notified, each with its notification and audit row), again at the
same ``now`` (must change nothing), and at the next minute (the calls raised in that minute
move on: the steady state). Prints wall time, CPU here and in the database server, the counts
and this process's peak RSS; exits 1 when the first tick takes 2 s or more, or when the
second one changes anything. ``--clean`` deletes the calls, their hops, notifications and
audit rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys

from bench.review import _county, _default_now, _rss_mb, _timer

TARGET_SECONDS = 2
TAG = "bench-calls"
CHAIN = [
    ("helper_contact", 5),
    ("responsible_helper", 10),
    ("doctor", 10),
    ("village_cadre", 15),
    ("township", 30),
]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("NOTIFICATION_EMAIL", "0")
    import django

    django.setup()


def clean() -> dict:
    from django.db import connection

    from accounts.models import Notification
    from monitoring.models import EmergencyCall

    ids = list(EmergencyCall.objects.filter(note=TAG).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM monitoring_statuschange WHERE object_type = 'call' AND object_id = ANY(%s)", [ids]
        )
        audit = cursor.rowcount
    notes = Notification.objects.filter(
        key__startswith="call:", recipient__username__startswith=TAG
    ).delete()[0]
    calls = EmergencyCall.objects.filter(pk__in=ids).delete()[0]
    return {
        "calls_deleted": len(ids),
        "rows_deleted": calls,
        "notifications_deleted": notes,
        "audit_deleted": audit,
    }


def _staff(n: int) -> list[int]:
    from accounts.models import Role, User

    have = list(
        User.objects.filter(username__startswith=f"{TAG}-").order_by("pk").values_list("pk", flat=True)
    )
    if len(have) < n:
        User.objects.bulk_create(
            [
                User(username=f"{TAG}-{i}", role=Role.HELPER, full_name=f"压测{i}", is_active=True)
                for i in range(len(have), n)
            ]
        )
        have = list(
            User.objects.filter(username__startswith=f"{TAG}-").order_by("pk").values_list("pk", flat=True)
        )
    return have[:n]


def setup_calls(*, n: int, spread: int, now: dt.datetime, seed: int) -> dict:
    """``n`` open calls with their planned hops, raised in the ``spread`` minutes before ``now``."""
    from django.db import transaction

    from households.models import Household
    from monitoring.models import CallHop, EmergencyCall, HopState

    rng = random.Random(seed)
    prefix = _county()[:6]
    staff = _staff(400)
    taken = EmergencyCall.objects.active().values("household_id")
    households = list(
        Household.objects.filter(area_code__startswith=prefix)
        .exclude(pk__in=taken)
        .order_by("pk")
        .values_list("pk", "area_code")[:n]
    )
    with transaction.atomic():
        calls = EmergencyCall.objects.bulk_create(
            [
                EmergencyCall(
                    household_id=pk,
                    area_code=area,
                    status="open",
                    source="device",
                    raised_at=now - dt.timedelta(minutes=rng.randrange(spread), seconds=rng.randrange(60)),
                    note=TAG,
                )
                for pk, area in households
            ],
            batch_size=2000,
        )
        hops = []
        for call in calls:
            at = call.raised_at
            for position, (level, minutes) in enumerate(CHAIN, start=1):
                first = position == 1
                hops.append(
                    CallHop(
                        call=call,
                        position=position,
                        level=level,
                        recipients=rng.sample(staff, 1 if position < 4 else 2),
                        names=TAG,
                        notify_at=at,
                        state=HopState.NOTIFIED if first else HopState.PLANNED,
                        notified_at=at if first else None,
                    )
                )
                at = at + dt.timedelta(minutes=minutes)
        CallHop.objects.bulk_create(hops, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE monitoring_callhop")
        cursor.execute("ANALYZE monitoring_emergencycall")
    due = CallHop.objects.filter(call__note=TAG, state=HopState.PLANNED, notify_at__lte=now).count()
    return {"calls": len(calls), "hops": len(hops), "hops_due_at_now": due, "staff": len(staff)}


def run(*, n: int, spread: int, now: dt.datetime, seed: int) -> dict:
    from monitoring.models import EmergencyCall
    from monitoring.services.calls import call_escalation, level_labels, url_for

    out = {"cleaned": clean()}
    out["setup"] = setup_calls(n=n, spread=spread, now=now, seed=seed)
    out["open_calls"] = EmergencyCall.objects.active().count()
    # a worker has loaded the URL conf and the translations before its first tick (about
    # 1.2 s of imports in a fresh process): load them here too, outside the timing
    url_for("monitoring:call_detail")
    level_labels()
    timed = _timer()
    out["first"], out["first_time"] = timed(lambda: call_escalation(now=now))
    out["second"], out["second_time"] = timed(lambda: call_escalation(now=now))
    out["next_minute"], out["next_minute_time"] = timed(
        lambda: call_escalation(now=now + dt.timedelta(minutes=1))
    )
    out["peak_rss_mb"] = _rss_mb()
    failures = []
    if out["first_time"]["seconds"] >= TARGET_SECONDS:
        failures.append(f"first tick {out['first_time']['seconds']} s >= {TARGET_SECONDS} s")
    if any(out["second"].values()):
        failures.append(f"second tick at the same now changed something: {out['second']}")
    out["failures"] = failures
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--spread", type=int, default=20, help="minutes over which the calls were raised")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--clean", action="store_true")
    args = parser.parse_args(argv)
    _setup()
    if args.clean:
        print(json.dumps(clean()))
        return 0
    r = run(n=args.calls, spread=args.spread, now=_default_now(), seed=args.seed)
    clean()
    print(json.dumps(r, ensure_ascii=False, indent=2, default=str))
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
