"""Admin grants on the accounts app's models (registered in :mod:`accounts.permissions`)."""

from __future__ import annotations

from .models import Role
from .permissions import RAC, R

GRANTS = {
    Role.OPERATOR: {"accounts.user": RAC, "accounts.area": RAC, "accounts.department": RAC},
    Role.COUNTY_APPROVER: {"accounts.department": R},
}
NEVER: dict = {}
