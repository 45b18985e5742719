"""Signals the registry sends for the layers above it (which it must not import)."""

from django.dispatch import Signal

#: A bulk load wrote households as rows, not through ``save()`` (the demo and benchmark
#: counties, an import): ``area_prefix`` (the households' area-code prefix) or ``households``
#: (their ids), and ``at`` (the load's time, that of their history rows). The monitoring app
#: keeps its ledger spans by it.
households_written = Signal()

#: An import wrote households whose rows carry a monitoring category: ``rows`` (one dict per
#: household: ``household_id``, ``number``, ``row``, ``category``, ``identified_on``,
#: ``eliminated``, ``eliminated_on``, ``elimination_mode``, ``risks`` — risk type codes), and
#: ``actor``, ``at``, ``reason``. Sent inside the import's transaction; the monitoring app
#: keeps each household's identification as a case by it and answers a dict of counts.
monitoring_imported = Signal()
