"""A deterministic demo county: the area tree, households, people, income, helpers and logins.

``generate_county(households=N, seed=S)`` builds a county that looks like a real one (Yangyuan,
Hebei by default): ~10 townships, villages scaled with N, households of 1–6 people (≈2.7 on
average), valid and unique ID numbers whose birth dates fit each member's relation to the head,
two years of income spread around the year's monitoring line, helpers for the 脱贫户 and one
demo login per role.

Same seed + same N + same year ⇒ the same data: everything comes from one
``random.Random(seed)`` consumed in a fixed order (no global random, no clock, no set
iteration). Rows are built in Python (no per-row query, no per-row ``full_clean``; ID numbers
are checked with :func:`households.idnumber.parse`, per-capita income computed with
:mod:`households.income`) and written in bulk (COPY on PostgreSQL) a few thousand households at a
time (see :class:`Writer`), each row with its creation history row (django-simple-history),
all in one transaction so an interrupted run leaves nothing behind.

The steps, a module each: :mod:`.tables` (names and weighted choices), :mod:`.areas` (the area
tree), :mod:`.people` (members and their rows), :mod:`.generator` (households, income,
helpers), :mod:`.lines` (the monitoring line incomes are spread around), :mod:`.writer` (bulk
inserts with history), :mod:`.users` (the demo logins) and :mod:`.run` (the run in order).
"""

from __future__ import annotations

from .areas import (
    DEFAULT_COUNTY_CODE,
    HOUSEHOLDS_PER_VILLAGE,
    TOWNSHIPS_PER_COUNTY,
    AreaSpec,
    check_county_code,
    plan_areas,
)
from .generator import Generator, HouseholdPlan
from .lines import DEFAULT_THRESHOLD, register_line_source, thresholds_for
from .people import IDNumbers
from .run import HOUSEHOLDS_PER_HELPER, Summary, county_has_households, generate_county
from .users import DEMO_PASSWORD, DEMO_USERS, DemoUser, ensure_demo_users
from .writer import HISTORY_REASON, Writer

__all__ = [
    "DEFAULT_COUNTY_CODE",
    "DEFAULT_THRESHOLD",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "HISTORY_REASON",
    "HOUSEHOLDS_PER_HELPER",
    "HOUSEHOLDS_PER_VILLAGE",
    "TOWNSHIPS_PER_COUNTY",
    "AreaSpec",
    "DemoUser",
    "Generator",
    "HouseholdPlan",
    "IDNumbers",
    "Summary",
    "Writer",
    "check_county_code",
    "county_has_households",
    "ensure_demo_users",
    "generate_county",
    "plan_areas",
    "register_line_source",
    "thresholds_for",
]
