"""``manage.py demo_logins``: the demo logins made by ``generate_county``, one per role."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand
from django.urls import reverse

from accounts.models import User
from households import demo


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "列出演示账号（用户名 / 密码 / 角色 / 工作区域）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="站点地址（默认为 make run 的本机地址）。",
        )

    def handle(self, *args, **options):
        names = [u.username for u in demo.DEMO_USERS]
        users = {
            u.username: u
            for u in User.objects.filter(username__in=names)
            .select_related("department")
            .prefetch_related("areas")
        }
        if not users:
            self.stdout.write("还没有演示账号：请先运行 manage.py generate_county --households 3000。")
            return
        header = ("用户名", "密码", "角色", "姓名", "工作区域")
        rows = []
        for spec in demo.DEMO_USERS:
            user = users.get(spec.username)
            if user is None:
                continue
            role = "超级管理员" if user.is_superuser else user.get_role_display()
            area = "、".join(a.full_name for a in user.areas.all())
            if user.department_id:
                area = f"{user.department.name}（{area}）" if area else user.department.name
            if spec.role == "helper" and not area:
                area = "所帮扶的农户"
            rows.append((user.username, demo.DEMO_PASSWORD, role, user.full_name, area or "全部"))
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        self.stdout.write("演示账号（初始密码相同，登录后请勿用于真实数据）：")
        self.stdout.write("  ".join(_pad(h, w) for h, w in zip(header, widths, strict=True)))
        self.stdout.write(line)
        for row in rows:
            self.stdout.write("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write(f"登录地址：{options['base_url'].rstrip('/')}{reverse('login')}")
