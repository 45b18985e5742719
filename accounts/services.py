"""Writes on accounts: issuing and revoking department API keys."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from .errors import NotAllowed, ValidationError
from .models import Area, AreaLevel, Department, DepartmentAPIKey, Role, Scope, User


def department_service_user(department: Department, county: Area | None = None) -> User:
    """The account a department's keys act as (role department, no password)."""
    user, created = User.objects.get_or_create(
        username=f"dept-{department.code}",
        defaults={"role": Role.DEPARTMENT, "department": department, "full_name": department.name},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if county is not None:
        user.areas.add(county)
    return user


@transaction.atomic
def api_key_issue(
    *,
    actor,
    department: Department,
    name: str,
    scopes: list[str],
    county: Area | None = None,
    expires_at: dt.datetime | None = None,
    ip_allowlist: str = "",
) -> tuple[DepartmentAPIKey, str]:
    """Issue a key; the secret is returned once and only its hash is stored."""
    if actor is not None and not actor.has_role(Role.OPERATOR):
        raise NotAllowed(_("只有系统管理员可以签发接口密钥。"))
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown:
        raise ValidationError({"scopes": _("未知的权限范围：%(s)s") % {"s": ", ".join(unknown)}})
    if not scopes:
        raise ValidationError({"scopes": _("至少选择一项权限范围。")})
    if county is not None and county.level != AreaLevel.COUNTY:
        raise ValidationError({"county": _("请选择一个县。")})
    if not (name or "").strip():
        raise ValidationError({"name": _("请填写密钥名称。")})
    user = department_service_user(department, county)
    key, raw = DepartmentAPIKey.objects.create_key(
        name=name.strip()[:50],
        department=department,
        user=user,
        scopes=sorted(set(scopes)),
        expiry_date=expires_at,
        ip_allowlist=ip_allowlist,
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, actor, key: DepartmentAPIKey) -> DepartmentAPIKey:
    if actor is not None and not actor.has_role(Role.OPERATOR):
        raise NotAllowed(_("只有系统管理员可以吊销接口密钥。"))
    key = DepartmentAPIKey.objects.select_for_update().get(pk=key.pk)
    key.revoked = True
    key.save(update_fields=["revoked"])
    return key
