"""Staff API tokens: issue, rotate and revoke; one writer for each, each change in the
security log. The secret is returned once and only its hash is stored."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import InvalidTransition, NotAllowed, ValidationError
from .lockout import covers_user
from .models import Role, SecurityEventKind, StaffToken
from .security import security_event


def token_lifetime(days) -> int:
    """The days asked for, checked against the county's limit; the default when not given."""
    if days in (None, ""):
        return settings.STAFF_TOKEN_DAYS
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationError({"days": _("有效天数须为整数。")}) from None
    if not 1 <= days <= settings.STAFF_TOKEN_MAX_DAYS:
        raise ValidationError(
            {"days": _("有效天数须在 1 到 %(max)s 天之间。") % {"max": settings.STAFF_TOKEN_MAX_DAYS}}
        )
    return days


def _may_hold_tokens(user) -> None:
    if not (user and user.is_active):
        raise NotAllowed(_("账号已停用。"))
    if user.role == Role.DEPARTMENT and not user.is_superuser:
        raise NotAllowed(_("部门账号使用部门接口密钥，不能创建个人令牌。"))


def _own(actor, token: StaffToken, *, operator_may: bool = False) -> None:
    if token.user_id == actor.pk:
        return
    if operator_may and (
        actor.is_superuser or (actor.has_role(Role.OPERATOR) and covers_user(actor, token.user))
    ):
        return
    raise NotAllowed(_("只能管理自己的令牌。"))


@transaction.atomic
def token_issue(
    *, actor, name: str, days=None, request=None, rotated_from: str = ""
) -> tuple[StaffToken, str]:
    """A new token for ``actor``, expiring after ``days`` (default ``STAFF_TOKEN_DAYS``)."""
    _may_hold_tokens(actor)
    name = (name or "").replace("\x00", "").strip()
    errors = {}
    if not name:
        errors["name"] = _("请填写令牌名称（如用途或设备）。")
    elif len(name) > 50:
        errors["name"] = _("令牌名称最多 50 个字符。")
    try:
        days = token_lifetime(days)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    # one live token fewer when this one replaces another in the same transaction
    live = StaffToken.objects.select_for_update().filter(
        user=actor, revoked=False, expiry_date__gt=timezone.now()
    )
    if not rotated_from and len(live) >= settings.STAFF_TOKEN_MAX_ACTIVE:
        raise InvalidTransition(
            _("最多同时持有 %(n)s 个有效令牌，请先吊销不用的令牌。") % {"n": settings.STAFF_TOKEN_MAX_ACTIVE}
        )
    token, raw = StaffToken.objects.create_key(
        name=name,
        user=actor,
        expiry_date=timezone.now() + dt.timedelta(days=days),
        rotated_from=rotated_from,
    )
    if not rotated_from:
        security_event(
            SecurityEventKind.TOKEN_CREATED,
            request=request,
            user=actor,
            token=token.prefix,
            name=name,
            days=days,
        )
    return token, raw


@transaction.atomic
def token_revoke(*, actor, token: StaffToken, request=None, reason: str = "") -> StaffToken:
    """Revoke a token at once (the next call with it is refused): the owner's own, or by an
    operator for a user of their areas (someone who left, a lost phone)."""
    token = StaffToken.objects.select_for_update().get(pk=token.pk)
    _own(actor, token, operator_may=True)
    if token.revoked:
        raise InvalidTransition(_("该令牌已吊销。"))
    token.revoked = True
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked", "revoked_at"])
    if reason != "rotated":
        security_event(
            SecurityEventKind.TOKEN_REVOKED,
            request=request,
            user=token.user,
            token=token.prefix,
            by=None if actor.pk == token.user_id else actor.get_username(),
        )
    return token


@transaction.atomic
def token_rotate(*, actor, token: StaffToken, days=None, request=None) -> tuple[StaffToken, str]:
    """Replace a live token by a new one with the same name: the old one stops working now."""
    token = StaffToken.objects.select_for_update().get(pk=token.pk)
    _own(actor, token)
    if token.revoked or token.has_expired:
        raise InvalidTransition(_("已吊销或已过期的令牌不能轮换，请新建令牌。"))
    if days in (None, ""):
        days = round((token.expiry_date - token.created).total_seconds() / 86400)
        days = min(max(1, days), settings.STAFF_TOKEN_MAX_DAYS)
    token_revoke(actor=actor, token=token, request=request, reason="rotated")
    new, raw = token_issue(
        actor=actor, name=token.name, days=days, request=request, rotated_from=token.prefix
    )
    security_event(
        SecurityEventKind.TOKEN_ROTATED, request=request, user=actor, token=new.prefix, replaced=token.prefix
    )
    return new, raw


def tokens_of(user):
    return StaffToken.objects.filter(user=user).order_by("revoked", "-created")
