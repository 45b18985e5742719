"""The demo county's area tree: province, city, county, townships and villages, and how many
households each village gets."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from accounts.models import AreaLevel

from .tables import CITY_NAMES, COUNTY_NAMES, PLACE_HEADS, PLACE_TAILS, PROVINCE_NAMES, TOWNSHIP_NAMES

DEFAULT_COUNTY_CODE = "130727000000"
TOWNSHIPS_PER_COUNTY = 10
HOUSEHOLDS_PER_VILLAGE = 800  # target average; Yangyuan-like villages of a few hundred households


@dataclass(frozen=True)
class AreaSpec:
    code: str
    name: str
    level: str
    parent_code: str | None


def check_county_code(code: str) -> str:
    code = (code or "").strip()
    if (
        not (len(code) == 12 and code.isascii() and code.isdigit())
        or code[6:].strip("0")
        or code[4:6] == "00"
    ):
        raise ValueError(
            f"county code must be 12 digits with a 6-digit county part, e.g. 130727000000: {code!r}"
        )
    return code


def _place_name(rng: random.Random, taken: set[str], suffix: str) -> str:
    for _attempt in range(200):
        name = (
            PLACE_HEADS[int(rng.random() * len(PLACE_HEADS))]
            + PLACE_TAILS[int(rng.random() * len(PLACE_TAILS))]
        )
        if name + suffix not in taken:
            taken.add(name + suffix)
            return name + suffix
    name = f"第{len(taken) + 1}{suffix}"
    taken.add(name)
    return name


def plan_areas(rng: random.Random, county_code: str, households: int) -> tuple[list[AreaSpec], list[int]]:
    """The area tree, top down, and how many households each village gets (same order)."""
    province = county_code[:2] + "0" * 10
    city = county_code[:4] + "0" * 8
    specs = [
        AreaSpec(province, PROVINCE_NAMES.get(county_code[:2], "示范省"), AreaLevel.PROVINCE, None),
        AreaSpec(city, CITY_NAMES.get(county_code[:4], "示范市"), AreaLevel.CITY, province),
        AreaSpec(county_code, COUNTY_NAMES.get(county_code[:6], "示范县"), AreaLevel.COUNTY, city),
    ]
    known = TOWNSHIP_NAMES.get(county_code[:6])
    if known:
        townships = known[:TOWNSHIPS_PER_COUNTY]
    else:
        taken: set[str] = set()
        townships = [
            (f"{100 + i if i < 5 else 200 + i - 5:03d}", _place_name(rng, taken, "镇" if i < 5 else "乡"))
            for i in range(TOWNSHIPS_PER_COUNTY)
        ]
    n_villages = max(2 * len(townships), math.ceil(households / HOUSEHOLDS_PER_VILLAGE))
    per_township = _split(rng, n_villages, len(townships), minimum=1, cap=799)
    village_weights: list[float] = []
    for (suffix, name), count in zip(townships, per_township, strict=True):
        code = county_code[:6] + suffix + "000"
        specs.append(AreaSpec(code, name, AreaLevel.TOWNSHIP, county_code))
        taken = set()
        for v in range(count):
            village_code = code[:9] + f"{200 + v:03d}"
            specs.append(AreaSpec(village_code, _place_name(rng, taken, "村"), AreaLevel.VILLAGE, code))
            village_weights.append(rng.uniform(0.5, 1.5))
    sizes = _largest_remainder(households, village_weights)
    if households and sizes[0] == 0:  # the demo logins work in the first village: give it households
        donor = max(range(len(sizes)), key=lambda i: sizes[i])
        sizes[donor] -= 1
        sizes[0] += 1
    return specs, sizes


def _split(rng: random.Random, total: int, parts: int, *, minimum: int, cap: int) -> list[int]:
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    counts = [max(minimum, min(cap, c)) for c in _largest_remainder(total, weights)]
    return counts


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, exactly, deterministically."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts
