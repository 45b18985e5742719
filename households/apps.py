from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("农户信息")

    def ready(self):
        from accounts.permissions import register_grants

        from . import role_grants, tasks  # noqa: F401 - the import job's task, found by name

        register_grants(role_grants.GRANTS, role_grants.NEVER)
