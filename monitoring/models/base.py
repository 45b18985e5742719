"""What the workflow's models share: the scoped queryset."""

from __future__ import annotations

from django.db.models import Q

from households.models import RegistryQuerySet


class AreaScopedQuerySet(RegistryQuerySet):
    """``for_user``: the rows whose household lies in the user's areas (the one policy,
    :class:`accounts.models.ScopePolicy`, as the registry configures it).

    Departments see only rows they reported or were assigned (``department_q`` of their
    department); helpers also see what concerns the households assigned to them.
    """

    area_field = "area_code"
    household_field = "household_id"

    def department_rows(self, department_id) -> Q:
        """The rows a department reported or was assigned (none unless a model says)."""
        return Q(pk__in=[])

    def department_q(self, user) -> Q | None:
        return self.department_rows(user.department_id) if user.department_id else None
