"""Signals the registry sends for the layers above it (which it must not import)."""

from django.dispatch import Signal

#: A bulk load wrote households as rows, not through ``save()`` (the demo and benchmark
#: counties, an import): ``area_prefix`` (the households' area-code prefix) or ``households``
#: (their ids), and ``at`` (the load's time, that of their history rows). The monitoring app
#: keeps its ledger spans by it.
households_written = Signal()
