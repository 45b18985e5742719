from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("台账与统计")

    def ready(self):
        from . import tasks  # noqa: F401 - registers the Celery tasks by name
