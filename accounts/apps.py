from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("用户与区划")

    def ready(self):
        from config import lookups

        from . import role_grants, security, tasks  # noqa: F401 - tasks: the Celery tasks by name; security: receivers
        from .permissions import register_grants

        lookups.register()  # field__any=[…]: long lists as one array parameter
        register_grants(role_grants.GRANTS, role_grants.NEVER)
        security.connect_axes()
