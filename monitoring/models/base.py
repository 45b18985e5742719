"""What the workflow's models share: the scoped queryset."""

from __future__ import annotations

from django.db.models import Q

from households.models import RegistryQuerySet


class AreaScopedQuerySet(RegistryQuerySet):
    """``for_user``: the rows whose household lies in the user's areas (the one policy,
    :class:`accounts.models.ScopePolicy`, as the registry configures it).

    Departments see only rows they reported or were assigned (``department_q`` of their
    department), inside their account's areas; helpers also see what concerns the households
    assigned to them.
    """

    area_field = "area_code"
    household_field = "household_id"

    def department_rows(self, department_id) -> Q:
        """The rows a department reported or was assigned (none unless a model says)."""
        return Q(pk__in=[])

    def department_q(self, user) -> Q | None:
        """The department's rows inside the account's areas: one department (say, medical
        insurance) serves many counties, each county's bureau with its own account, and one
        bureau never sees another county's alerts or tasks. An account without areas (a key
        issued for the whole deployment) sees all of its department's rows."""
        if not user.department_id:
            return None
        rows = self.department_rows(user.department_id)
        return rows & self.area_q(user) if user.scope_prefixes() else rows
