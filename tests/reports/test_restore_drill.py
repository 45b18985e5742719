"""The backup and restore drill (PostgreSQL): a backup restored into a scratch database has
every table's rows and every household ledger's counts; a difference fails the drill."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from reports.management.commands import restore_drill
from tests.households import factories as hf
from tests.transactional import reference_data_afterwards  # noqa: F401 - the flush puts the defaults back

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump and pg_restore: PostgreSQL"),
]


def _scratch_databases():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [f"{connection.settings_dict['NAME']}_drill_%"],
        )
        return [row[0] for row in cursor.fetchall()]


def test_the_restored_database_has_the_same_rows_and_ledgers(areas):
    for n in range(4):
        hf.household(areas["v11"], members=2, household_type="out_of_poverty" if n % 2 else "ordinary")
    out = io.StringIO()
    call_command("restore_drill", stdout=out)
    text = out.getvalue()
    assert "restore drill passed" in text
    assert "ledger ordinary (rule): 2 = 2" in text and "ledger stable_out_of_poverty (rule): 2 = 2" in text
    assert _scratch_databases() == []  # the scratch database is dropped


def test_a_difference_fails_the_drill(areas, monkeypatch):
    hf.household(areas["v11"], members=1)
    real = restore_drill.restored_counts

    def restored(settings, scratch):
        found = real(settings, scratch)
        found["table households_household"] -= 1  # as if a row were lost
        return found

    monkeypatch.setattr(restore_drill, "restored_counts", restored)
    with pytest.raises(CommandError, match="differs"):
        call_command("restore_drill", stdout=io.StringIO(), stderr=io.StringIO())
    assert _scratch_databases() == []
