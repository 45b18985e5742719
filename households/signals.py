"""Signals the registry sends for the layers above it (which it must not import)."""

from django.dispatch import Signal

#: A bulk load wrote households as rows, not through ``save()`` (the demo and benchmark
#: counties): ``area_prefix`` (the households' area-code prefix) and ``at`` (the load's time,
#: that of their history rows). The monitoring app keeps its ledger spans by it.
households_written = Signal()
