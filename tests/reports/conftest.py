"""Fixtures of the reports' tests: the county of ``test_ledgers.py`` (households of every kind
in three villages, clues in two villages and the county) for the lists and exports too."""

from tests.reports.test_ledgers import EXPECTED_COUNTY, county  # noqa: F401 - the fixture and its figures
