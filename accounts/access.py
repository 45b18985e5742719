"""Who uses the web pages: every staff role except department accounts, which use the API.

:func:`staff_page` guards a page view: signed in (else to the login page), and a role of
:data:`PAGE_ROLES` (else a 403 page that says why). The admin has its own rule
(:mod:`accounts.permissions`: operators and superusers only).
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .models import Role

#: Roles that work through the web pages (department accounts use the API).
PAGE_ROLES = (
    Role.VILLAGE_CADRE,
    Role.HELPER,
    Role.TOWNSHIP_REVIEWER,
    Role.COUNTY_APPROVER,
    Role.OPERATOR,
)


def uses_pages(user) -> bool:
    """May ``user`` use the web pages (superusers always)?"""
    return bool(user.is_authenticated and user.has_role(*PAGE_ROLES))


def staff_page(view):
    """Signed in (else to the login page), and a role that uses the web pages (else a 403)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not uses_pages(request.user):
            raise PermissionDenied(_("您的角色不使用此页面。"))
        return view(request, *args, **kwargs)

    return wrapped
