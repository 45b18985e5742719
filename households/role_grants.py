"""Admin grants on the registry's models (registered in :mod:`accounts.permissions`)."""

from __future__ import annotations

from accounts.models import Role
from accounts.permissions import RAC, RACD, each

#: The household registry (written through ``households.services``).
HOUSEHOLD_MODELS = ("households.household", "households.person", "households.incomerecord")
HELPER_MODELS = ("households.helper", "households.helperassignment")
#: the header names of the import layouts (reference data a county extends)
IMPORT_MODELS = ("households.importcolumnmapping",)

#: Only operators use the admin; the other staff roles keep the registry through its pages
#: (and their checks), department accounts through the API.
GRANTS = {
    Role.OPERATOR: {**each(HOUSEHOLD_MODELS, RAC), **each(HELPER_MODELS, RAC), **each(IMPORT_MODELS, RACD)},
}
NEVER: dict = {}
