"""``manage.py generate_county --households N``: a deterministic demo county (households/demo/)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from households import demo


class Command(BaseCommand):
    help = "生成演示县数据（行政区划、农户、家庭成员、收支、帮扶责任人和演示账号）；同一种子生成相同数据。"

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, required=True, help="农户数，如 3000 或 300000")
        parser.add_argument("--seed", type=int, default=1, help="随机种子（默认 1）")
        parser.add_argument("--if-empty", action="store_true", help="已有农户时不做任何事")
        parser.add_argument("--county-code", default=demo.DEFAULT_COUNTY_CODE, help="12位县级区划代码")
        parser.add_argument(
            "--year", type=int, default=None, help="当前年度（默认今年）；收支生成上一年和当年"
        )
        parser.add_argument("--batch-size", type=int, default=5000, help="每批写入的农户数")
        parser.add_argument("--no-history", action="store_true", help="不写初始历史记录（更快）")
        parser.add_argument(
            "--allow-production", action="store_true", help="允许在生产环境生成（演示账号使用公开密码）"
        )

    def handle(self, *args, **options):
        if getattr(settings, "PRODUCTION", False) and not options["allow_production"]:
            raise CommandError(
                "生产环境不生成演示数据（演示账号密码公开）；确需生成请加 --allow-production。"
            )
        if options["households"] < 0 or options["batch_size"] < 1:
            raise CommandError("--households 须 ≥ 0，--batch-size 须 ≥ 1。")
        verbosity = options["verbosity"]

        def progress(done: int, total: int) -> None:
            if verbosity >= 2:
                self.stderr.write(f"  {done:,}/{total:,} 户")

        try:
            summary = demo.generate_county(
                households=options["households"],
                seed=options["seed"],
                county_code=options["county_code"],
                year=options["year"],
                if_empty=options["if_empty"],
                history=not options["no_history"],
                batch_size=options["batch_size"],
                progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if summary.skipped:
            self.stdout.write("已有农户数据，跳过生成（--if-empty）。")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成 {summary.county_code}（种子 {summary.seed}，{summary.year} 年）："
                f"区划 {summary.areas:,}，农户 {summary.households:,}，成员 {summary.persons:,}，"
                f"收支 {summary.incomes:,}，帮扶责任人 {summary.helpers:,}，帮扶关系 {summary.assignments:,}，"
                f"账号 {summary.users}，历史记录 {summary.history_rows:,}；用时 {summary.seconds:.1f} 秒。"
            )
        )
        if verbosity >= 2:
            for name, seconds in summary.phases.items():
                self.stdout.write(f"  {name:<12} {seconds:8.2f} s")
