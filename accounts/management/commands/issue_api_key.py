"""Issue a department API key and print it once: ``manage.py issue_api_key medical_insurance``."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.errors import ServiceError, ValidationError
from accounts.models import Area, Department, DepartmentAPIKey, Scope
from accounts.services import api_key_issue, api_key_revoke


class Command(BaseCommand):
    help = "Issue (or --revoke) a partner department's API key; the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("department", nargs="?", help="department code, e.g. medical_insurance")
        parser.add_argument("--name", default="")
        parser.add_argument("--scopes", default=",".join(Scope.values), help="comma-separated")
        parser.add_argument("--county", default="", help="12-digit county code the department serves")
        parser.add_argument("--days", type=int, default=0, help="expires after this many days (0 = never)")
        parser.add_argument("--ip", action="append", default=[], help="allowed IP or network (repeatable)")
        parser.add_argument("--revoke", default="", help="revoke the key with this prefix")

    def handle(self, *args, **opts):
        if opts["revoke"]:
            key = DepartmentAPIKey.objects.filter(prefix=opts["revoke"]).first()
            if key is None:
                raise CommandError(f"no key with prefix {opts['revoke']}")
            api_key_revoke(actor=None, key=key)
            self.stdout.write(f"revoked {key.prefix} ({key.name})")
            return
        department = Department.objects.filter(code=opts["department"] or "").first()
        if department is None:
            codes = ", ".join(Department.objects.values_list("code", flat=True))
            raise CommandError(f"unknown department; one of: {codes}")
        if not opts["county"]:
            raise CommandError("--county is required: unmatched alerts are shown to that county's staff")
        county = Area.objects.filter(code=opts["county"]).first()
        if county is None:
            raise CommandError(f"unknown area {opts['county']}")
        expires = timezone.now() + dt.timedelta(days=opts["days"]) if opts["days"] else None
        try:
            key, raw = api_key_issue(
                actor=None,
                department=department,
                name=opts["name"] or f"{department.name}接口",
                scopes=[s.strip() for s in opts["scopes"].split(",") if s.strip()],
                county=county,
                expires_at=expires,
                ip_allowlist="\n".join(opts["ip"]),
            )
        except (ServiceError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"department: {department.code}  scopes: {','.join(key.scopes)}  prefix: {key.prefix}"
        )
        self.stdout.write(raw)
