"""Helper pairing as a pure rule: which helper each household gets.

``plan_pairs`` takes the households to pair (id, village code) and the helpers who may take
them (id, village code or "", current load) and a limit of households per helper, and gives
each household the helper it ranks first among those still under the limit, in three rounds
(all households' own village first, then the township, then the county's helpers):

1. a helper of the household's own village;
2. then a helper of another village of the same township, the nearest first (the area tree
   has no coordinates: nearest is the closest village code, villages being numbered in order
   within their township);
3. then a helper with no village of their own (a county organ's cadre).

Helpers of other townships are never proposed. Ties go to the helper with the lighter load,
then the lower id, so the same input always gives the same plan. A household no helper can
take stays unpaired.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    id: int
    village_code: str  # "" when the helper has no village
    load: int


@dataclass
class Plan:
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (household id, helper id)
    unpaired: list[int] = field(default_factory=list)
    loads: dict[int, int] = field(default_factory=dict)  # helper id → load after the plan


def township_of(village_code: str) -> str:
    return village_code[:9]


def rank(household_village: str, helper_village: str) -> tuple[int, int] | None:
    """How well a helper of ``helper_village`` suits a household of ``household_village``
    (lower is better); None: not a candidate at all."""
    if not helper_village:
        return (2, 0)
    if helper_village == household_village:
        return (0, 0)
    if township_of(helper_village) == township_of(household_village):
        return (1, abs(int(helper_village) - int(household_village)))
    return None


def _best(village: str, candidates, loads: dict[int, int], limit: int, tier: int):
    best, best_key = None, None
    for h in candidates:
        load = loads[h.id]
        if load >= limit:
            continue
        order = rank(village, h.village_code)
        if order is None or order[0] != tier:
            continue
        key = (order[1], load, h.id)
        if best_key is None or key < best_key:
            best, best_key = h, key
    return best


def plan_pairs(households: list[tuple[int, str]], helpers: list[Candidate], limit: int) -> Plan:
    """In three rounds, so that a village's own helpers serve their village before a
    neighbouring village's overflow reaches them: every household that can get a helper of its
    own village gets one; then the rest a helper of the township, nearest first; then a helper
    with no village."""
    loads = {h.id: h.load for h in helpers}
    by_township: dict[str, list[Candidate]] = {}
    roaming: list[Candidate] = []
    for h in helpers:
        if h.village_code:
            by_township.setdefault(township_of(h.village_code), []).append(h)
        else:
            roaming.append(h)
    chosen: dict[int, int] = {}
    for tier in (0, 1):
        for household_id, village in households:
            if household_id in chosen:
                continue
            best = _best(village, by_township.get(township_of(village), ()), loads, limit, tier)
            if best is not None:
                chosen[household_id] = best.id
                loads[best.id] += 1
    # helpers with no village rank alike for every household: the lightest load, then the
    # lowest id, kept in a heap (a county has thousands of them)
    heap = [(loads[h.id], h.id) for h in roaming if loads[h.id] < limit]
    heapq.heapify(heap)
    for household_id, _village in households:
        if household_id in chosen or not heap:
            continue
        load, helper_id = heapq.heappop(heap)
        chosen[household_id] = helper_id
        loads[helper_id] = load + 1
        if load + 1 < limit:
            heapq.heappush(heap, (load + 1, helper_id))
    plan = Plan(loads=loads)
    for household_id, _village in households:
        if household_id in chosen:
            plan.pairs.append((household_id, chosen[household_id]))
        else:
            plan.unpaired.append(household_id)
    return plan
