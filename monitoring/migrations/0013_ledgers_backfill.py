"""The ledger spans of the households there are, from their history and their cases' log."""

from django.db import migrations
from django.utils import timezone


def backfill(apps, schema_editor):
    from monitoring.services.ledgers import backfill_ledger_spans

    backfill_ledger_spans(apps, now=timezone.now())


def clear(apps, schema_editor):
    apps.get_model("monitoring", "LedgerSpan").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0012_ledgers_spans"),
        ("households", "0003_phone_validator_and_area_message"),
    ]

    operations = [migrations.RunPython(backfill, clear, elidable=True)]
