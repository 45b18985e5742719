from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("台账与统计")

    def ready(self):
        from monitoring.models import TaskName
        from monitoring.tasks import plug

        from . import frozen
        from . import tasks  # noqa: F401 - registers the Celery tasks by name

        plug(TaskName.FREEZE_LEDGERS, frozen.freeze_previous_month)
