"""API authentication: department keys (scoped, expiring, IP-bound) and staff tokens;
scope permission, throttles, and the call log."""

from __future__ import annotations

import time

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling

from .models import ApiCallLog, DepartmentAPIKey, Role, SecurityEventKind, StaffToken

KEYWORD = "Api-Key"
TOKEN_KEYWORD = "Token"
#: a token's "last used" is written at most this often (seconds), not on every call
LAST_USED_EVERY = 60


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


class DepartmentKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <prefix>.<secret>`` → the department's service account."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(KEYWORD + " "):
            return None
        raw = header[len(KEYWORD) + 1 :].strip()
        prefix, _sep, _rest = raw.partition(".")
        key = (
            DepartmentAPIKey.objects.select_related("user", "department")
            .filter(revoked=False, prefix=prefix)
            .first()
        )
        if key is None or not key.is_valid(raw):
            raise exceptions.AuthenticationFailed(_("接口密钥无效或已吊销。"))
        if key.has_expired:
            raise exceptions.AuthenticationFailed(_("接口密钥已过期。"))
        if not key.ip_allowed(client_ip(request)):
            raise exceptions.AuthenticationFailed(_("该IP地址不在此密钥的白名单内。"))
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed(_("部门服务账号已停用。"))
        request._api_key = key
        return key.user, key

    def authenticate_header(self, request):
        return KEYWORD


class StaffTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <prefix>.<secret>`` → the token's owner, while the token is
    neither revoked nor expired and the owner is active. A refused token is logged."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(TOKEN_KEYWORD + " "):
            return None
        raw = header[len(TOKEN_KEYWORD) + 1 :].strip()
        prefix, _sep, _rest = raw.partition(".")
        token = (
            StaffToken.objects.select_related("user").filter(prefix=prefix[:8]).first() if prefix else None
        )
        if token is None or not token.is_valid(raw):
            raise exceptions.AuthenticationFailed(_("令牌无效。"))
        reason = None
        if token.revoked:
            reason, message = "revoked", _("令牌已吊销。")
        elif token.has_expired:
            reason, message = "expired", _("令牌已过期，请在“我的令牌”页面新建或轮换。")
        elif not token.user.is_active:
            reason, message = "inactive", _("账号已停用。")
        if reason:
            from .security import security_event

            security_event(
                SecurityEventKind.TOKEN_REFUSED,
                request=request,
                user=token.user,
                token=token.prefix,
                reason=reason,
            )
            raise exceptions.AuthenticationFailed(message)
        now = timezone.now()
        ip = client_ip(request) or None
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > LAST_USED_EVERY
            or (token.last_used_ip != ip)
        ):
            StaffToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        request._staff_token = token
        return token.user, token

    def authenticate_header(self, request):
        return TOKEN_KEYWORD


class HasScope(permissions.BasePermission):
    """A key must carry the scope the view asks for (``required_scopes`` per action or method).

    Staff (users not on a key) pass here; their role and area are checked by ``for_user``
    and the services.
    """

    message = _("此接口密钥没有所需的权限范围。")

    def has_permission(self, request, view):
        key = request.auth if isinstance(request.auth, DepartmentAPIKey) else None
        if key is None:
            return True
        required = getattr(view, "required_scopes", {})
        action = getattr(view, "action", None) or request.method.lower()
        scope = required.get(action) or required.get(request.method.lower())
        if scope is None:
            return False  # a key may call only what is explicitly open to keys
        return key.has_scope(scope)


class IsStaff(permissions.BasePermission):
    """Staff endpoints: any signed-in person who is not a department account or key."""

    message = _("部门账号不能使用此接口。")

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if isinstance(request.auth, DepartmentAPIKey):
            return False
        return user.is_superuser or user.role != Role.DEPARTMENT


class IsDepartment(permissions.BasePermission):
    message = _("此接口仅供行业部门使用。")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.role == Role.DEPARTMENT and user.department_id))


class KeyRateThrottle(throttling.SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        key = request.auth if isinstance(request.auth, DepartmentAPIKey) else None
        if key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.pk}


class StaffRateThrottle(throttling.UserRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, DepartmentAPIKey):
            return None
        return super().get_cache_key(request, view)


class ApiCallLogMiddleware:
    """Log every call under /api/: key or user, method, path, status, milliseconds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.monotonic()
        response = self.get_response(request)
        elapsed = int((time.monotonic() - started) * 1000)
        drf_request = (
            getattr(response, "renderer_context", {}).get("request")
            if hasattr(response, "renderer_context")
            else None
        )
        key = getattr(drf_request, "_api_key", None) if drf_request is not None else None
        token = getattr(drf_request, "_staff_token", None) if drf_request is not None else None
        user = (
            getattr(drf_request, "user", None) if drf_request is not None else getattr(request, "user", None)
        )
        if key is not None:
            DepartmentAPIKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        try:
            ApiCallLog.objects.create(
                api_key=key,
                staff_token=token,
                user=user if (user is not None and getattr(user, "is_authenticated", False)) else None,
                method=request.method[:10],
                path=request.path.replace("\x00", "")[:300],
                status=response.status_code,
                duration_ms=elapsed,
                ip=client_ip(request) or None,
            )
        except Exception:  # the log must never break a call  # noqa: BLE001
            import logging

            logging.getLogger(__name__).exception("could not write the API call log")
        return response
