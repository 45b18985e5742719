from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("台账与统计")

    def ready(self):
        from monitoring.models import TaskName
        from monitoring.tasks import plug

        from . import (
            frozen,
            snapshots,
            tasks,  # noqa: F401 - registers the Celery tasks by name
        )
        from .services import exports

        # the periodic services of this app, for `run_task` and the monitoring's freeze task
        plug(TaskName.FREEZE_LEDGERS, frozen.freeze_previous_month)
        plug(TaskName.DASHBOARD_FIGURES, snapshots.dashboard_figures)
        plug(TaskName.EXPORT_CLEANUP, exports.export_cleanup)
