from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("监测帮扶")

    def ready(self):
        from simple_history.signals import post_create_historical_record

        from accounts.permissions import register_grants
        from households.demo import register_line_source
        from households.imports.layouts import register_monitoring_source
        from households.models import Household
        from households.signals import households_written, monitoring_imported

        from . import role_grants, tasks  # noqa: F401 - tasks: registers the Celery tasks by name
        from .models import IncomeThreshold
        from .services import imported, ledgers

        register_grants(role_grants.GRANTS, role_grants.NEVER)
        # the demo county's incomes are spread around the reference monitoring lines
        register_line_source(IncomeThreshold.objects.default_lines)
        # the ledger spans follow every write of the fields the ledgers' rule reads
        post_create_historical_record.connect(
            ledgers.household_history_written,
            sender=Household.history.model,
            dispatch_uid="ledger_spans_history",
        )
        households_written.connect(ledgers.households_written, dispatch_uid="ledger_spans_bulk")
        # an import's monitoring columns: the county's risk types, the households inside the
        # workflow, and each identification kept as an imported case
        register_monitoring_source(imported.ImportSource())
        monitoring_imported.connect(imported.record_imported, dispatch_uid="imported_cases")
