"""The monitoring line (监测线) of each year, which the demo's incomes are spread around.

The line is the workflow's reference data, which the registry does not import: the app that
keeps it registers where to read it (:func:`register_line_source`, from its
``AppConfig.ready``). With no source registered, every year's line is 8,800 yuan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

DEFAULT_THRESHOLD = Decimal("8800")

#: ``source() -> [(year, amount), …]`` by year: the reference lines (one source at most).
LINE_SOURCES: list[Callable[[], Iterable[tuple[int, Decimal]]]] = []


def register_line_source(source: Callable[[], Iterable[tuple[int, Decimal]]]) -> None:
    """Read the monitoring lines from ``source`` (replacing any source registered before)."""
    LINE_SOURCES[:] = [source]


def thresholds_for(years) -> dict[int, Decimal]:
    """The monitoring line of each year (else the nearest earlier year, else 8,800)."""
    rows = [row for source in LINE_SOURCES for row in source()]
    found = {}
    for year in years:
        earlier = [amount for y, amount in rows if y <= year]
        later = [amount for y, amount in rows if y > year]
        found[year] = earlier[-1] if earlier else (later[0] if later else DEFAULT_THRESHOLD)
    return found
