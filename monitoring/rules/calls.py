"""Pure rules of the emergency call: the hops a call plans from the county's chain.

No database here. :func:`plan_hops` turns the chain (position, level, minutes) and who can be
reached at each level into the call's hops: a level with nobody to notify is skipped (it takes
no time), every other hop falls due when the previous notified hop's minutes have run out. The
first reachable hop falls due at the moment of the call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ChainStep:
    position: int
    level: str
    minutes: int


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str


@dataclass(frozen=True)
class PlannedHop:
    position: int
    level: str
    recipients: tuple[int, ...]
    names: str
    #: ``None`` for a skipped hop
    notify_at: dt.datetime | None

    @property
    def skipped(self) -> bool:
        return self.notify_at is None


def plan_hops(
    chain: Sequence[ChainStep], reach: Mapping[str, Sequence[Recipient]], *, raised_at: dt.datetime
) -> list[PlannedHop]:
    """The call's hops in chain order, each with its recipients and when it falls due."""
    hops = []
    at = raised_at
    for step in sorted(chain, key=lambda s: s.position):
        people = list(dict.fromkeys(reach.get(step.level, ())))
        if not people:
            hops.append(PlannedHop(step.position, step.level, (), "", None))
            continue
        hops.append(
            PlannedHop(
                step.position,
                step.level,
                tuple(p.user_id for p in people),
                "、".join(dict.fromkeys(p.name for p in people))[:300],
                at,
            )
        )
        at = at + dt.timedelta(minutes=step.minutes)
    return hops


def acknowledge_deadline(hops: Sequence[PlannedHop], chain: Sequence[ChainStep]) -> dt.datetime | None:
    """When the last reachable hop's minutes run out (the call is then overdue everywhere)."""
    minutes = {s.position: s.minutes for s in chain}
    due = [h for h in hops if not h.skipped]
    if not due:
        return None
    last = due[-1]
    return last.notify_at + dt.timedelta(minutes=minutes.get(last.position, 0))
