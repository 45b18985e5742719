"""The identification score (识别定量模式), pure: bands, points, weights and the breakdown.

A model is a tuple of indicators, each with a weight and bands ``lower <= value < upper``
(an open bound is ``None``); the first band (in order) that holds the value gives its points,
times the weight. A value is exact (a :class:`~fractions.Fraction`, e.g. income over the line),
so a band boundary is the same here as in the set-based SQL of
:mod:`monitoring.services.scoring` (which compares ``numerator >= lower × denominator``).

A fact that cannot be found (no income record, no line for the year, no members) gives no
points and is named in the breakdown, so the reviewer sees what the score could not read.
The score supports the reviewers' decision; it never makes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

CENT = Decimal("0.01")

#: Why a fact is missing (stored in the breakdown, described by :func:`missing_text`).
NO_INCOME = "no_income"
NO_THRESHOLD = "no_threshold"
NO_MEMBERS = "no_members"


@dataclass(frozen=True)
class Band:
    lower: Decimal | None
    upper: Decimal | None
    points: int
    label: str = ""
    label_en: str = ""

    def holds(self, value: Fraction) -> bool:
        if self.lower is not None and value < Fraction(self.lower):
            return False
        return not (self.upper is not None and value >= Fraction(self.upper))


@dataclass(frozen=True)
class IndicatorSpec:
    kind: str
    weight: Decimal
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class ModelSpec:
    id: int | None
    version: int
    indicators: tuple[IndicatorSpec, ...]


@dataclass(frozen=True)
class Fact:
    """An indicator's value for a household, where it came from, or why it is missing."""

    value: Fraction | None
    source: dict = field(default_factory=dict)
    missing: str = ""


def band_for(value: Fraction, bands: tuple[Band, ...]) -> Band | None:
    return next((b for b in bands if b.holds(value)), None)


def weighted(points: int, weight: Decimal) -> Decimal:
    return (Decimal(points) * weight).quantize(CENT, rounding=ROUND_HALF_UP)


def _bound(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _shown(value: Fraction) -> str:
    return format((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001")), "f")


def score(model: ModelSpec, facts: dict[str, Fact]) -> tuple[Decimal, list[dict]]:
    """``(total, breakdown)``: the weighted points and one line per indicator (kind, value,
    band, points, weight, weighted points, source, missing), JSON-ready."""
    total = Decimal("0.00")
    lines = []
    for ind in model.indicators:
        fact = facts.get(ind.kind) or Fact(None, missing=NO_INCOME)
        band = band_for(fact.value, ind.bands) if fact.value is not None else None
        points = band.points if band else 0
        got = weighted(points, ind.weight)
        total += got
        lines.append(
            {
                "kind": ind.kind,
                "value": _shown(fact.value) if fact.value is not None else None,
                "band": band.label if band else "",
                "band_en": band.label_en if band else "",
                "lower": _bound(band.lower) if band else None,
                "upper": _bound(band.upper) if band else None,
                "points": points,
                "weight": format(ind.weight, "f"),
                "weighted": format(got, "f"),
                "source": fact.source,
                "missing": "" if fact.value is not None else (fact.missing or NO_INCOME),
            }
        )
    return total, lines


def missing_lines(breakdown: list[dict]) -> list[dict]:
    return [line for line in breakdown if line.get("missing")]


# --- descriptions (the reader's language) ------------------------------------------------------


def missing_text(line: dict) -> str:
    source = line.get("source") or {}
    code = line.get("missing")
    if code == NO_THRESHOLD:
        return _("未设置%(year)s年的监测线") % {"year": source.get("line_year", "")}
    if code == NO_MEMBERS:
        return _("没有家庭常住成员")
    if code == NO_INCOME:
        return _("没有%(year)s年及以前的收入记录") % {"year": source.get("line_year", "")}
    return ""


def source_text(line: dict) -> str:
    source = line.get("source") or {}
    kind = source.get("kind")
    if kind == "income":
        if source.get("income_year"):
            return _("%(year)s年收支情况，%(line_year)s年监测线") % {
                "year": source["income_year"],
                "line_year": source.get("line_year", ""),
            }
        return ""
    if kind == "members":
        return _("家庭成员登记（常住%(n)s人）") % {"n": source.get("n", 0)}
    if kind == "household":
        return _("农户登记信息")
    return ""
