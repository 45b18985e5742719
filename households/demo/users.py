"""The demo logins, one per role, plus a superuser; all with :data:`DEMO_PASSWORD`."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from accounts.models import Area, Department, Role, User
from households.models import Helper

DEMO_PASSWORD = "demo12345"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    full_name: str
    area: str | None  # "village" (first village), "township" (first township), "county" or None
    phone: str
    is_staff: bool = False  # the admin is the operators' only
    is_superuser: bool = False
    department: str | None = None


#: One login per role, plus a superuser; all with :data:`DEMO_PASSWORD`.
DEMO_USERS = (
    DemoUser("cadre", Role.VILLAGE_CADRE, "李建军", "village", "13931300001"),
    DemoUser("helper", Role.HELPER, "王秀梅", None, "13931300002"),
    DemoUser("township", Role.TOWNSHIP_REVIEWER, "张志强", "township", "13931300003"),
    DemoUser("county", Role.COUNTY_APPROVER, "刘海燕", "county", "13931300004"),
    DemoUser(
        "dept",
        Role.DEPARTMENT,
        "赵丽娟",
        "county",
        "13931300005",
        department="medical_insurance",
    ),
    DemoUser("operator", Role.OPERATOR, "陈晓东", "county", "13931300006", is_staff=True),
    DemoUser("admin", Role.OPERATOR, "孙立平", "county", "13931300007", is_staff=True, is_superuser=True),
)


def ensure_demo_users(*, county: Area, township: Area, village: Area | None, helper_id: int | None) -> int:
    """Create the demo logins that do not exist yet (existing ones are left as they are)."""
    names = [u.username for u in DEMO_USERS]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    missing = [u for u in DEMO_USERS if u.username not in existing]
    if not missing:
        return 0
    password = make_password(DEMO_PASSWORD)  # hashed once, shared by the demo logins
    areas = {"county": county, "township": township, "village": village}
    for spec in missing:
        department = None
        if spec.department:
            department, _created = Department.objects.get_or_create(
                code=spec.department, defaults={"name": "医疗保障局"}
            )
        user = User.objects.create(
            username=spec.username,
            password=password,
            full_name=spec.full_name,
            phone=spec.phone,
            role=spec.role,
            is_staff=spec.is_staff,
            is_superuser=spec.is_superuser,
            department=department,
        )
        area = areas.get(spec.area) if spec.area else None
        if area is not None:
            user.areas.set([area])
        if spec.role == Role.HELPER and helper_id is not None:
            helper = Helper.objects.filter(pk=helper_id, user__isnull=True).first()
            if helper is not None:
                helper.user = user
                helper._change_reason = "关联演示账号"
                helper.save(update_fields=["user"])
    return len(missing)
