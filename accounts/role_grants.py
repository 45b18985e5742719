"""Admin grants on the accounts app's models (registered in :mod:`accounts.permissions`)."""

from __future__ import annotations

from .models import Role
from .permissions import RAC

#: Only operators (and superusers) use the admin.
GRANTS = {
    Role.OPERATOR: {"accounts.user": RAC, "accounts.area": RAC, "accounts.department": RAC},
}
NEVER: dict = {}
