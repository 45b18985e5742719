"""The run: checks, then the steps in their fixed order, in one transaction.

1. :func:`write_areas` — plan the area tree and write what does not exist yet;
2. :func:`write_helpers` — the county's helpers (the first is the demo "helper" login);
3. :func:`write_households` — households, members, income and helper assignments, a batch at a
   time (:func:`give_ids`, then one bulk insert per table);
4. the demo logins (:func:`~households.demo.users.ensure_demo_users`).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Area, AreaLevel, Role
from households.models import AssignmentKind, Helper, HelperAssignment, Household, IncomeRecord, Person

from ..signals import households_written
from .areas import DEFAULT_COUNTY_CODE, AreaSpec, check_county_code, plan_areas
from .generator import Generator, HouseholdPlan
from .lines import thresholds_for
from .users import DEMO_USERS, ensure_demo_users
from .writer import Writer

HOUSEHOLDS_PER_HELPER = 20


@dataclass
class Summary:
    county_code: str
    seed: int
    year: int
    skipped: bool = False
    areas: int = 0
    households: int = 0
    persons: int = 0
    incomes: int = 0
    helpers: int = 0
    assignments: int = 0
    users: int = 0
    history_rows: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Every row inserted, history rows included."""
        return (
            self.areas
            + self.households
            + self.persons
            + self.incomes
            + self.helpers
            + self.assignments
            + self.users
            + self.history_rows
        )


class Clock:
    """Seconds spent per phase: each :meth:`lap` ends the phase named and starts the next."""

    def __init__(self):
        self.phases: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - self.last
        self.last = now


@dataclass
class CountyAreas:
    """The written area tree: the county, its townships and the villages' plans."""

    county: Area
    townships: list[Area]
    villages: list[AreaSpec]
    village_sizes: list[int]
    ids: dict[str, int]  # area code → id
    first_village: Area | None  # where the demo logins work

    @property
    def township_names(self) -> dict[str, str]:
        return {a.code[:9]: a.name for a in self.townships}


def county_has_households(county_code: str) -> bool:
    return Household.objects.filter(area_code__startswith=county_code[:6]).exists()


def generate_county(
    *,
    households: int,
    seed: int = 1,
    county_code: str = DEFAULT_COUNTY_CODE,
    year: int | None = None,
    if_empty: bool = False,
    history: bool = True,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Generate a demo county (see the package docstring); returns counts and timings.

    ``if_empty``: do nothing when any household exists. Without it, a county that already has
    households is refused (its household numbers and ID numbers would collide). ``year``
    defaults to this year: income is made for it and the year before, ages count on its
    1 January.
    """
    started = time.perf_counter()
    county_code = check_county_code(county_code)
    today = timezone.localdate()
    year = year or today.year
    if not 2000 < year <= today.year:
        raise ValueError(f"year must be between 2001 and {today.year}: {year}")
    if households < 0 or batch_size < 1:
        raise ValueError("households must be ≥ 0 and batch_size ≥ 1")
    summary = Summary(county_code=county_code, seed=seed, year=year)
    if if_empty and Household.objects.exists():
        summary.skipped = True
        summary.seconds = time.perf_counter() - started
        return summary
    if county_has_households(county_code):
        raise ValueError(f"county {county_code} already has households; use --if-empty or an empty database")
    # With DEBUG on, Django keeps the SQL of the last 9,000 queries: multi-megabyte statements here.
    debug, settings.DEBUG = settings.DEBUG, False
    try:
        with transaction.atomic():
            generate(
                summary,
                households=households,
                seed=seed,
                history=history,
                batch_size=batch_size,
                progress=progress,
            )
    finally:
        settings.DEBUG = debug
    analyze()
    summary.seconds = time.perf_counter() - started
    return summary


def analyze() -> None:
    """Refresh the planner's statistics after a bulk load: without them PostgreSQL still
    believes the tables are nearly empty and picks plans that read the whole county."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def generate(summary: Summary, *, households, seed, history, batch_size, progress) -> None:
    """The steps, in the order that consumes the one ``random.Random(seed)`` the same way."""
    clock = Clock()
    rng = random.Random(seed)
    writer = Writer(history=history, when=timezone.now())
    tree = write_areas(rng, summary, households=households, batch_size=batch_size)
    clock.lap("areas")
    taken = set(
        Person.objects.filter(id_number__startswith=summary.county_code[:6]).values_list(
            "id_number", flat=True
        )
    )
    gen = Generator(
        rng,
        county_code=summary.county_code,
        county_name=tree.county.name,
        year=summary.year,
        thresholds=thresholds_for((summary.year - 1, summary.year)),
        taken_ids=taken,
    )
    helpers = write_helpers(gen, writer, tree, households=households)
    summary.helpers = len(helpers)
    clock.lap("helpers")
    write_households(
        gen,
        writer,
        tree,
        helpers,
        summary,
        total=households,
        batch_size=batch_size,
        clock=clock,
        progress=progress,
    )
    summary.history_rows = writer.history_rows
    # the layers above keep what follows from the rows (the ledger spans)
    households_written.send(Writer, area_prefix=summary.county_code[:6], at=writer.when)
    clock.lap("ledger spans")
    summary.users = ensure_demo_users(
        county=tree.county, township=tree.townships[0], village=tree.first_village, helper_id=helpers[0]["id"]
    )
    clock.lap("users")
    summary.phases = clock.phases


def write_areas(rng: random.Random, summary: Summary, *, households: int, batch_size: int) -> CountyAreas:
    """The area tree: the few top levels one by one, townships and villages in bulk; areas that
    exist already are kept."""
    specs, village_sizes = plan_areas(rng, summary.county_code, households)
    villages = [s for s in specs if s.level == AreaLevel.VILLAGE]
    areas = {a.code: a for a in Area.objects.filter(code__in=[s.code for s in specs])}
    for level in (
        AreaLevel.PROVINCE,
        AreaLevel.CITY,
        AreaLevel.COUNTY,
        AreaLevel.TOWNSHIP,
        AreaLevel.VILLAGE,
    ):
        new = [
            Area(
                code=s.code,
                name=s.name,
                level=s.level,
                parent=areas.get(s.parent_code) if s.parent_code else None,
            )
            for s in specs
            if s.level == level and s.code not in areas
        ]
        Area.objects.bulk_create(new, batch_size=batch_size)
        areas.update((a.code, a) for a in new)
        summary.areas += len(new)
    return CountyAreas(
        county=areas[summary.county_code],
        townships=[areas[s.code] for s in specs if s.level == AreaLevel.TOWNSHIP],
        villages=villages,
        village_sizes=village_sizes,
        ids={code: a.pk for code, a in areas.items()},
        first_village=areas[villages[0].code] if villages else None,
    )


def write_helpers(gen: Generator, writer: Writer, tree: CountyAreas, *, households: int) -> list[dict]:
    """The county's helpers; the first is the demo "helper" login, with the first village's 脱贫户."""
    helper_login = next(u for u in DEMO_USERS if u.role == Role.HELPER)
    helpers = gen.helpers(
        max(1, households // HOUSEHOLDS_PER_HELPER), [a.name for a in tree.townships], helper_login.full_name
    )
    for row, pk in zip(helpers, writer.reserve_ids(Helper, len(helpers)), strict=True):
        row["id"], row["county_id"] = pk, tree.county.pk
    writer.insert(Helper, helpers)
    return helpers


def household_plans(gen: Generator, tree: CountyAreas) -> Iterator[HouseholdPlan]:
    """Every household, village by village; the first village's first one is a 脱贫户."""
    for v_index, (village, size) in enumerate(zip(tree.villages, tree.village_sizes, strict=True)):
        for seq in range(1, size + 1):
            force = True if v_index == 0 and seq == 1 else None
            yield gen.household(village, tree.township_names[village.code[:9]], seq, out_of_poverty=force)


def write_households(gen, writer, tree, helpers, summary, *, total, batch_size, clock, progress) -> None:
    """Households with their members, income and assignments, ``batch_size`` at a time."""
    stream = household_plans(gen, tree)
    while chunk := list(itertools.islice(stream, batch_size)):
        clock.lap("build")
        persons = [p for plan in chunk for p in plan.persons]
        incomes = [r for plan in chunk for r in plan.incomes]
        assignments = give_ids(writer, chunk, persons, incomes, helpers, village_ids=tree.ids)
        clock.lap("ids")
        for model, rows, phase in (
            (Household, [plan.household for plan in chunk], "households"),
            (Person, persons, "persons"),
            (IncomeRecord, incomes, "incomes"),
            (HelperAssignment, assignments, "assignments"),
        ):
            writer.insert(model, rows)
            clock.lap(phase)
        summary.households += len(chunk)
        summary.persons += len(persons)
        summary.incomes += len(incomes)
        summary.assignments += len(assignments)
        if progress:
            progress(summary.households, total)


def give_ids(writer: Writer, chunk, persons, incomes, helpers, *, village_ids) -> list[dict]:
    """Hand out the batch's ids and link its rows; returns its helper assignments' rows."""
    hh_ids = iter(writer.reserve_ids(Household, len(chunk)))
    person_ids = iter(writer.reserve_ids(Person, len(persons)))
    income_ids = iter(writer.reserve_ids(IncomeRecord, len(incomes)))
    assignments = []
    for plan in chunk:
        hh = plan.household
        hh["id"] = hh_id = next(hh_ids)
        hh["village_id"] = village_ids[hh["area_code"]]
        for p in plan.persons:
            p["id"], p["household_id"] = next(person_ids), hh_id
        # the head's row is written after the household's: foreign keys are checked at commit
        hh["head_id"] = plan.persons[0]["id"]
        hh["member_count"] = len(plan.persons)
        for r in plan.incomes:
            r["id"], r["household_id"] = next(income_ids), hh_id
        if plan.assignment is not None:
            assignments.append(
                {
                    "helper_id": helpers[plan.assignment["helper"]]["id"],
                    "household_id": hh_id,
                    "kind": AssignmentKind.RESPONSIBLE.value,
                    "start_date": plan.assignment["start_date"],
                }
            )
    for row, pk in zip(assignments, writer.reserve_ids(HelperAssignment, len(assignments)), strict=True):
        row["id"] = pk
    return assignments
