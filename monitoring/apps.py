from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("监测帮扶")

    def ready(self):
        from accounts.permissions import register_grants
        from households.demo import register_line_source

        from . import role_grants, tasks  # noqa: F401 - tasks: registers the Celery tasks by name
        from .models import IncomeThreshold

        register_grants(role_grants.GRANTS, role_grants.NEVER)
        # the demo county's incomes are spread around the reference monitoring lines
        register_line_source(IncomeThreshold.objects.default_lines)
