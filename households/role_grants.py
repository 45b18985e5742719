"""Admin grants on the registry's models (registered in :mod:`accounts.permissions`)."""

from __future__ import annotations

from accounts.models import Role
from accounts.permissions import RAC, RC, R, each

#: The household registry (written through ``households.services``).
HOUSEHOLD_MODELS = ("households.household", "households.person", "households.incomerecord")
HELPER_MODELS = ("households.helper", "households.helperassignment")

GRANTS = {
    Role.OPERATOR: {**each(HOUSEHOLD_MODELS, RAC), **each(HELPER_MODELS, RAC)},
    Role.COUNTY_APPROVER: {**each(HOUSEHOLD_MODELS, RC), **each(HELPER_MODELS, RAC)},
    Role.TOWNSHIP_REVIEWER: {**each(HOUSEHOLD_MODELS, RC), **each(HELPER_MODELS, RAC)},
    Role.VILLAGE_CADRE: {**each(HOUSEHOLD_MODELS, RAC), **each(HELPER_MODELS, R)},
    Role.HELPER: {**each(HOUSEHOLD_MODELS, R), **each(HELPER_MODELS, R)},
}
NEVER: dict = {}
