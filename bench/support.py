"""Helper pairing and motivation points on the 300,000-household county (``make bench``;
PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python -m bench.support

Inside one transaction that is rolled back at the end (the county is left as it was):

1. ``--monitored`` households (4,000, every 75th) become monitored, and ``--resident``
   helpers per village (4) get the village as theirs; the other helpers of the county stay
   without a village.
2. The to-do: the county's monitored households with no responsible helper (one query).
3. Bulk pairing of every township in turn (``pair_helpers``, limit 5), then the same again
   (nothing left to pair).
4. The helpers' page query for a county approver: the first page of 25 helpers with their
   load, visits this month and last visit, and its count.
5. A helper with five households leaves (``helper_leave``): their households paired again.
6. Points: 2,000 awards and 500 redemptions through the services in one village, then the
   village's printable ledger (``/points/print/``) through the Django client.

Targets: the to-do < 1 s, pairing a township < 5 s, the helpers' page < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("NOTIFICATION_EMAIL", "0")


class Rollback(Exception):
    pass


def timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    took = time.perf_counter() - start
    print(f"{label}: {took * 1000:.0f} ms", flush=True)
    return out, took


def run(args) -> int:
    import django

    django.setup()
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Area, AreaLevel, Role, User
    from households.models import Helper, HelperAssignment, Household
    from monitoring.rules.deadlines import local_date
    from monitoring.services import pairing, points

    county = Area.objects.get(code=args.county)
    now = timezone.now()
    today = local_date(now)
    missed = []
    try:
        with transaction.atomic():
            ids = list(
                Household.objects.filter(area_code__startswith=county.prefix)
                .order_by("id")
                .values_list("id", flat=True)[:: max(1, 300_000 // args.monitored)][: args.monitored]
            )
            Household.objects.filter(pk__in=ids).update(monitoring_status="monitored")
            villages = list(Area.objects.filter(level=AreaLevel.VILLAGE, code__startswith=county.prefix))
            helper_ids = list(
                Helper.objects.filter(county=county).order_by("id").values_list("id", flat=True)
            )
            for n, village in enumerate(villages):
                chunk = helper_ids[n * args.resident : (n + 1) * args.resident]
                Helper.objects.filter(pk__in=chunk).update(village=village)
            print(
                f"county {county.code}: {len(ids):,} monitored households, {len(helper_ids):,} helpers "
                f"({len(villages) * args.resident:,} living in {len(villages)} villages), "
                f"{HelperAssignment.objects.count():,} assignments",
                flush=True,
            )
            approver = User.objects.create_user("bench_support", password="x", role=Role.COUNTY_APPROVER)
            approver.areas.add(county)
            households = Household.objects.filter(area_code__startswith=county.prefix)
            todo, took = timed(
                "to-do (unassigned monitored households of the county)",
                lambda: pairing.unassigned_monitored(households, on=today).count(),
            )
            print(f"  {todo:,} to pair", flush=True)
            if took > 1:
                missed.append("to-do")
            paired = unpaired = 0
            slowest = 0.0
            townships = Area.objects.filter(level=AreaLevel.TOWNSHIP, parent=county).order_by("code")
            start = time.perf_counter()
            for township in townships:
                t0 = time.perf_counter()
                result = pairing.pair_helpers(
                    actor=approver, area=township, start_date=today, limit=5, now=now
                )
                slowest = max(slowest, time.perf_counter() - t0)
                paired += len(result.pairs)
                unpaired += len(result.unpaired)
            print(
                f"pairing the {townships.count()} townships: {time.perf_counter() - start:.2f} s "
                f"(slowest township {slowest:.2f} s): {paired:,} paired, {unpaired:,} left",
                flush=True,
            )
            if slowest > 5:
                missed.append("pairing")
            again, _took = timed(
                "pairing the first township again",
                lambda: pairing.pair_helpers(
                    actor=approver, area=townships.first(), start_date=today, limit=5, now=now
                ),
            )
            assert not again.pairs
            client = Client()
            client.force_login(approver)
            client.get("/helpers/")  # templates compiled once
            pages = []
            for _ in range(20):
                t0 = time.perf_counter()
                response = client.get("/helpers/")
                pages.append(time.perf_counter() - t0)
                assert response.status_code == 200
            pages.sort()
            print(f"helpers' page (/helpers/), p50 {pages[10] * 1000:.0f} ms, p95 {pages[18] * 1000:.0f} ms")
            if pages[18] > 0.3:
                missed.append("helpers page")
            busy = (
                pairing.helper_loads(Helper.objects.filter(county=county, village__isnull=False), on=today)
                .filter(load__gte=5)
                .first()
            )
            if busy is not None:
                result, _took = timed(
                    "a helper with five households leaves (helper_leave)",
                    lambda: pairing.helper_leave(
                        actor=approver, helper=busy, left_on=today, reason="调离", limit=5, now=now
                    ),
                )
                print(f"  {len(result.pairs)} paired again, {len(result.unpaired)} left", flush=True)
            cadre_village = villages[0]
            cadre = User.objects.create_user("bench_support_cadre", password="x", role=Role.VILLAGE_CADRE)
            cadre.areas.add(cadre_village)
            village_households = list(Household.objects.filter(village=cadre_village).order_by("id")[:400])

            def awards():
                for n in range(args.awards):
                    points.points_award(
                        actor=cadre,
                        household=village_households[n % len(village_households)],
                        conduct_code="C02",
                        awarded_on=today,
                        reason="务工",
                        panel="甲、乙、丙",
                        now=now,
                    )

            _out, took = timed(f"{args.awards:,} awards (points_award)", awards)
            print(f"  {took / args.awards * 1000:.1f} ms each", flush=True)

            def redemptions():
                for n in range(args.awards // 4):
                    points.points_redeem(
                        actor=cadre,
                        household=village_households[n % len(village_households)],
                        item_code="G05",
                        quantity=1,
                        redeemed_on=today,
                        now=now,
                    )

            timed(f"{args.awards // 4:,} redemptions (points_redeem)", redemptions)
            client.force_login(cadre)
            client.get("/points/print/")  # templates compiled once
            prints = []
            for _ in range(5):
                t0 = time.perf_counter()
                assert client.get("/points/print/").status_code == 200
                prints.append(time.perf_counter() - t0)
            prints.sort()
            print(
                f"the village's printable points ledger (/points/print/, {args.awards + args.awards // 4:,} "
                f"entries, 2,000 printed), p50 of 5: {prints[2] * 1000:.0f} ms",
                flush=True,
            )
            raise Rollback
    except Rollback:
        pass
    if missed:
        print("missed: " + ", ".join(missed))
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.support", description=__doc__.split("\n")[0])
    parser.add_argument("--county", default="130727000000")
    parser.add_argument("--monitored", type=int, default=4000)
    parser.add_argument("--resident", type=int, default=4)
    parser.add_argument("--awards", type=int, default=2000)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
