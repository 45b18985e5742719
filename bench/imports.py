"""Import and data-quality benchmark (``make bench``; PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python -m bench.imports

1. A workbook of ``--rows`` people (50,000; about 18,000 households of 1–5 people, income on
   every row) in the national system's person-per-row layout, for a county of its own
   (``139901``, 10 townships × 10 villages, made here; ID numbers of region 139901, so none
   collides with the loaded county's), written by a child process (its memory is not this
   process's).
2. Reading: every row with openpyxl's read-only mode and with python-calamine (the import
   uses calamine).
3. The import as the job runs it (``imports.jobs.run``): a dry run, then the real import
   (all rows written with their history rows), then the same file again (no change).
   Prints wall time and this process's peak RSS.
4. The data-quality run (``monitoring.services.quality.data_quality``) over the loaded county
   (``--county``, 130727000000), twice (the second finds the same and adds nothing).
5. Removes what it imported (``--keep`` keeps it).

Targets (issue 14): dry run + import < 30 s, memory < 300 MB; quality run < 60 s. Exits 1
when one is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("NOTIFICATION_EMAIL", "0")

REGION = "139901"
COUNTY = "139901000000"
HEADER = [
    "户编号", "行政区划代码", "姓名", "证件号码", "与户主关系", "劳动技能", "健康状况", "在校生情况", "户类型",
    "监测对象类别", "识别监测时间", "致贫/返贫风险1", "致贫/返贫风险2", "风险是否已消除", "消除监测时间", "联系电话", "耕地面积（亩）", "年度",
    "工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出",
]  # fmt: skip


def _id_number(n: int) -> str:
    from households import idnumber

    # unique for n below 90,000: a birth date per thousand, a sequence number within it
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=(n // 1000) * 300 + n % 7)
    return idnumber.make(REGION, birth, n % 1000)


def make_file(path: str, rows: int, seed: int) -> int:
    """Write the workbook (xlsxwriter, constant memory); return the number of households."""
    import django

    django.setup()
    import xlsxwriter

    rnd = random.Random(seed)
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("基础信息表")
    sheet.write_row(0, 0, HEADER)
    written, household = 0, 0
    person = 0
    while written < rows:
        household += 1
        village = f"{REGION}{101 + household % 10:03d}{201 + (household // 10) % 10:03d}"
        number = f"{village}{household:06d}"
        size = min(rows - written, rnd.choice((1, 2, 2, 3, 3, 3, 4, 4, 5)))
        monitored = rnd.random() < 0.1
        wages = rnd.choice((0, 50, 12000, 20000, 36000))
        for i in range(size):
            person += 1
            id_number = _id_number(person)
            relation = "户主" if i == 0 else rnd.choice(("配偶", "子女", "父母", "孙子女/外孙子女"))
            sheet.write_row(
                written + 1,
                0,
                [
                    number, village, f"成员{person}", id_number, relation,
                    rnd.choice(("普通劳动力", "技能劳动力", "无劳动力", "弱劳动力或半劳动力")),
                    rnd.choice(("健康", "长期慢性病", "患有大病")), "", rnd.choice(("一般农户", "脱贫户")),
                    "边缘易致贫户" if monitored else "", "202403" if monitored else "",
                    "因病" if monitored else "", rnd.choice(("因学", "", "")) if monitored else "", "否", "",
                    "", rnd.choice((2, 5.5, 8, 120)), 2025, wages, 5000, 0, 3000, 1000,
                ],
            )  # fmt: skip
            written += 1
    book.close()
    return household


def _areas():
    from accounts.models import Area, AreaLevel

    city = Area.objects.get(code="130700000000")
    county, _ = Area.objects.get_or_create(
        code=COUNTY, defaults={"name": "基准导入县", "level": AreaLevel.COUNTY, "parent": city}
    )
    for t in range(10):
        township, _ = Area.objects.get_or_create(
            code=f"{REGION}{101 + t:03d}000",
            defaults={"name": f"导入镇{t}", "level": AreaLevel.TOWNSHIP, "parent": county},
        )
        for v in range(10):
            Area.objects.get_or_create(
                code=f"{REGION}{101 + t:03d}{201 + v:03d}",
                defaults={"name": f"导入村{t}-{v}", "level": AreaLevel.VILLAGE, "parent": township},
            )
    return county


def _operator(county):
    from accounts.models import Role, User

    user, _ = User.objects.get_or_create(username="bench-imports", defaults={"role": Role.OPERATOR})
    user.areas.set([county])
    return user


def clean() -> None:
    from django.db import connection

    like = f"{REGION}%"
    with connection.cursor() as c:
        c.execute(
            "DELETE FROM households_historicalincomerecord WHERE household_id IN (SELECT id FROM households_household WHERE area_code LIKE %s)",
            [like],
        )
        c.execute(
            "DELETE FROM households_incomerecord WHERE household_id IN (SELECT id FROM households_household WHERE area_code LIKE %s)",
            [like],
        )
        c.execute("DELETE FROM households_historicalperson WHERE id_number LIKE %s", [like])
        c.execute("UPDATE households_household SET head_id = NULL WHERE area_code LIKE %s", [like])
        cases = "SELECT id FROM monitoring_monitoringcase WHERE area_code LIKE %s"
        c.execute(f"DELETE FROM monitoring_statuschange WHERE case_id IN ({cases})", [like])
        c.execute(f"DELETE FROM monitoring_monitoringcase_risk_types WHERE monitoringcase_id IN ({cases})", [like])
        c.execute("DELETE FROM monitoring_monitoringcase WHERE area_code LIKE %s", [like])
        c.execute("DELETE FROM monitoring_ledgerspan WHERE area_code LIKE %s", [like])
        c.execute("DELETE FROM monitoring_qualityfinding WHERE area_code LIKE %s", [like])
        c.execute("DELETE FROM households_person WHERE id_number LIKE %s", [like])
        c.execute("DELETE FROM households_historicalhousehold WHERE area_code LIKE %s", [like])
        c.execute("DELETE FROM households_household WHERE area_code LIKE %s", [like])
        c.execute("DELETE FROM households_importjob WHERE area_code LIKE %s", [like])  # fmt: skip


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read(path: str, engine: str) -> tuple[float, int]:
    from households.imports import reader

    started = time.perf_counter()
    sheet = reader.open_sheet(path, engine=engine)
    n = sum(1 for _ in sheet.rows)
    return time.perf_counter() - started, n


def _job(path: str, actor, *, dry_run: bool):
    from django.core.files import File

    from households.imports import jobs
    from households.models import ImportJob

    job = ImportJob(
        layout="national", dry_run=dry_run, file_name="bench.xlsx", area_code=COUNTY, created_by=actor
    )
    with open(path, "rb") as handle:
        job.file.save("bench.xlsx", File(handle), save=False)
    job.file_size = job.file.size
    job.save()
    started = time.perf_counter()
    job = jobs.run(job.pk)
    return time.perf_counter() - started, job


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--county", default="130727000000")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--make-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make_file:
        print(make_file(args.make_file, args.rows, args.seed))
        return 0
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone

    from monitoring.services import quality

    assert connection.vendor == "postgresql", "the benchmark runs on PostgreSQL"
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.xlsx")
        started = time.perf_counter()
        made = subprocess.run(
            [sys.executable, "-m", "bench.imports", "--make-file", path, "--rows", str(args.rows), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        households = int(made.stdout.strip().splitlines()[-1])
        size = os.path.getsize(path) / 1048576
        print(
            f"file: {args.rows:,} rows, {households:,} households, {size:.1f} MB, written in {time.perf_counter() - started:.1f} s"
        )
        for engine in ("openpyxl", "calamine"):
            seconds, n = _read(path, engine)
            print(f"read ({engine}): {n:,} rows in {seconds:.2f} s")
        clean()
        actor = _operator(_areas())
        media = override_settings(MEDIA_ROOT=os.path.join(tmp, "media"))  # uploads go with the folder
        media.enable()
        dry, job = _job(path, actor, dry_run=True)
        print(
            f"dry run: {dry:.2f} s, state {job.state}, {job.rows_checked:,} rows checked, {job.error_count} errors"
        )
        real, job = _job(path, actor, dry_run=False)
        reused = f"row checks reused from the dry run #{job.checked_from_id}" if job.checked_from_id else "checked again"
        print(
            f"import: {real:.2f} s, state {job.state}, created {job.summary.get('created')}, "
            f"cases {job.summary.get('monitoring', {}).get('cases')}; {reused}"
        )
        print(
            f"dry run + import: {dry + real:.2f} s (target < 30 s); peak RSS {_rss_mb():.0f} MB (target < 300 MB)"
        )
        failed |= dry + real >= 30 or _rss_mb() >= 300 or job.state != "done"
        again, job = _job(path, actor, dry_run=False)
        print(
            f"re-import of the same file: {again:.2f} s, changed {job.summary.get('changed')}, "
            f"cases {job.summary.get('monitoring', {}).get('cases')}"
        )
        failed |= any(job.summary.get("changed", {}).values())
        failed |= bool(job.summary.get("monitoring", {}).get("cases", {}).get("changed"))
        # a real run without a dry run before it checks every row itself
        clean()
        cold, job = _job(path, actor, dry_run=False)
        print(f"import without a dry run before it: {cold:.2f} s, state {job.state}")
        started = time.perf_counter()
        counts = quality.data_quality(now=timezone.now(), area_code=COUNTY)
        print(f"data-quality run over the imported county: {time.perf_counter() - started:.2f} s, {counts}")
        media.disable()
    for attempt in ("first", "second"):
        started = time.perf_counter()
        counts = quality.data_quality(now=timezone.now(), area_code=args.county)
        seconds = time.perf_counter() - started
        print(f"data-quality run over {args.county} ({attempt}): {seconds:.2f} s (target < 60 s), {counts}")
        failed |= seconds >= 60
    if not args.keep:
        clean()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
