"""Sign-in lockout (django-axes): the page a locked-out person sees, in their language, and
the operator's way to lift a lockout before it runs out."""

from __future__ import annotations

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.utils import reset
from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.errors import NotAllowed
from accounts.models import Role, SecurityEventKind
from accounts.security import security_event


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: status 429 and a page that says how long, and who can help."""
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "username": get_client_username(request, credentials) or "",
        "cooloff_minutes": int(cool_off.total_seconds() // 60) if cool_off else 0,
    }
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


def user_unlock(*, actor, user, request=None) -> int:
    """Lift ``user``'s sign-in lockout (their failed attempts are forgotten); returns how many
    attempt records were removed. Operators for users of their areas, and superusers."""
    if not (actor.is_superuser or (actor.has_role(Role.OPERATOR) and covers_user(actor, user))):
        raise NotAllowed(_("只有系统管理员可以解除本区域用户的登录锁定。"))
    removed = reset(username=user.get_username())
    security_event(
        SecurityEventKind.UNLOCKED, request=request, user=user, by=actor.get_username(), attempts=removed
    )
    return removed


def covers_user(actor, user) -> bool:
    codes = [area.code for area in user.areas.all()]
    return bool(codes) and all(actor.covers(code) for code in codes)
