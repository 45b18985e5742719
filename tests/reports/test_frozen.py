"""Frozen monthly ledgers: a county's month kept as it was, signed off, never frozen twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.errors import Conflict, InvalidTransition, NotAllowed
from accounts.models import Role
from households.models import Household, HouseholdType, LowIncomeStatus
from monitoring.models import Channel, Clue, LedgerSpan, RiskType, StatusChange
from reports import frozen as freezing
from reports.models import FrozenMonth, FrozenRow
from reports.selectors import Ledger
from tests.accounts import factories as af
from tests.monitoring.helpers import Actors, at, identified_case
from tests.reports.test_ledger_asof import register, update

NOW = at(dt.date(2025, 12, 1), 0, 30)  # the month-end task's time: November has ended


@pytest.fixture
def actors(cadre, township_reviewer, county_approver):
    return Actors(cadre, township_reviewer, county_approver)


@pytest.fixture
def county_year(areas, actors):
    """Households registered in January 2025; one identified in February; a clue in November."""
    homes = {
        "ordinary": register(areas["v11"], "甲", dt.date(2025, 1, 2), household_type=HouseholdType.ORDINARY),
        "stable": register(
            areas["v21"],
            "乙",
            dt.date(2025, 1, 2),
            household_type=HouseholdType.OUT_OF_POVERTY,
            low_income_status=LowIncomeStatus.DIBAO,
        ),
        "monitored": register(areas["v11"], "丙", dt.date(2025, 1, 2), household_type=HouseholdType.ORDINARY),
    }
    identified_case(homes["monitored"], actors, dt.date(2025, 2, 3))
    clue = Clue.objects.create(
        channel=Channel.SYSTEM,
        found_date=dt.date(2025, 11, 3),
        household=homes["ordinary"],
        area_code="130727100201",
    )
    Clue.objects.filter(pk=clue.pk).update(received_at=at(dt.date(2025, 11, 3)))  # auto_now_add
    return homes


def rows_of(frozen, ledger) -> list[tuple]:
    return sorted(
        FrozenRow.objects.filter(frozen=frozen, ledger=ledger).values_list(
            "household_id", "number", "area_code", "household_type", "monitoring_status", "low_income_status"
        )
    )


def test_a_frozen_month_keeps_the_rows_as_they_were_and_is_signed_off(county_year, areas, county_approver):
    county_approver.full_name = "王审定"
    county_approver.save()
    frozen = freezing.freeze_month(
        county=areas["county"], year=2025, month=11, actor=county_approver, now=NOW
    )
    assert (frozen.as_of, frozen.signed_by, frozen.frozen_by) == (
        dt.date(2025, 11, 30),
        "王审定",
        county_approver,
    )
    homes = county_year
    assert {r[0] for r in rows_of(frozen, Ledger.KEY_MONITORING)} == {homes["monitored"].pk}
    assert {r[0] for r in rows_of(frozen, Ledger.ORDINARY)} == {homes["ordinary"].pk}
    assert {r[0] for r in rows_of(frozen, Ledger.STABLE_OUT_OF_POVERTY)} == {homes["stable"].pk}
    assert {r[0] for r in rows_of(frozen, Ledger.LOW_INCOME)} == {homes["stable"].pk}
    assert (
        FrozenRow.objects.get(frozen=frozen, ledger=Ledger.EARLY_WARNING).number == homes["ordinary"].number
    )
    assert frozen.counts[Ledger.KEY_MONITORING] == 1 and frozen.counts[f"{Ledger.KEY_MONITORING}_people"] == 2
    assert frozen.counts[Ledger.EARLY_WARNING] == 1
    key_row = FrozenRow.objects.get(frozen=frozen, ledger=Ledger.KEY_MONITORING)
    assert (key_row.head_name, key_row.village_name, key_row.monitoring_category) == (
        "丙0",
        "一村",
        "marginal",
    )
    assert key_row.risks == RiskType.objects.get(code="01").name  # the open case's risk types
    audit = StatusChange.objects.get(object_type="frozen_month", object_id=frozen.pk)
    assert (audit.actor, audit.action, audit.at) == (county_approver, "freeze", NOW)

    # later edits do not change the frozen month
    before = {ledger: rows_of(frozen, ledger) for ledger in Ledger}
    update(homes["stable"], dt.date(2025, 12, 3), low_income_status="", household_type=HouseholdType.ORDINARY)
    update(homes["ordinary"], dt.date(2025, 12, 3), village=areas["v12"])
    Clue.objects.create(channel=Channel.SYSTEM, found_date=dt.date(2025, 12, 3), area_code="130727100201")
    assert {ledger: rows_of(frozen, ledger) for ledger in Ledger} == before
    frozen.refresh_from_db()
    assert frozen.counts[Ledger.LOW_INCOME] == 1

    # the difference from live: 乙 left the low-income and stable ledgers, entered the ordinary one
    diff = freezing.difference(frozen, Ledger.LOW_INCOME, user=county_approver)
    assert (diff["frozen"], diff["live"], diff["entered"], diff["left"]) == (1, 0, 0, 1)
    diff = freezing.difference(frozen, Ledger.ORDINARY, user=county_approver)
    assert (diff["entered"], diff["left"]) == (1, 0) and diff["entered_rows"][0].pk == homes["stable"].pk
    diff = freezing.difference(frozen, Ledger.EARLY_WARNING, user=county_approver)
    # (the case's own clue was received by the clock, after November: it entered since too)
    assert (diff["frozen"], diff["live"], diff["entered"], diff["left"]) == (1, 3, 2, 0)


def test_a_second_freeze_of_the_same_month_is_refused(county_year, areas, county_approver, operator):
    freezing.freeze_month(county=areas["county"], year=2025, month=11, actor=county_approver, now=NOW)
    with pytest.raises(Conflict, match="不能重复封存"):
        freezing.freeze_month(county=areas["county"], year=2025, month=11, actor=operator, now=NOW)
    assert FrozenMonth.objects.count() == 1
    # another month is fine
    freezing.freeze_month(county=areas["county"], year=2025, month=10, actor=operator, now=NOW)


def test_who_may_freeze_and_when(
    county_year, areas, cadre, township_reviewer, county_approver, other_county_approver
):
    for actor in (cadre, township_reviewer, other_county_approver):
        with pytest.raises(NotAllowed):
            freezing.freeze_month(county=areas["county"], year=2025, month=11, actor=actor, now=NOW)
    with pytest.raises(InvalidTransition, match="尚未结束"):
        freezing.freeze_month(county=areas["county"], year=2025, month=12, actor=county_approver, now=NOW)
    with pytest.raises(InvalidTransition):
        freezing.freeze_month(county=areas["t1"], year=2025, month=11, actor=county_approver, now=NOW)
    assert not FrozenMonth.objects.exists()


@pytest.fixture
def other_county_approver(areas):
    from accounts.models import AreaLevel

    other = af.area("130728000000", "怀安县", AreaLevel.COUNTY, areas["city"])
    return af.user(Role.COUNTY_APPROVER, other)


def test_the_month_end_task_freezes_the_previous_month_once(county_year, areas):
    first = freezing.freeze_previous_month(now=NOW)
    assert first == {"year": 2025, "month": 11, "frozen": 1, "already_frozen": 0}
    frozen = FrozenMonth.objects.get()
    assert frozen.frozen_by is None and frozen.signed_by
    assert freezing.freeze_previous_month(now=NOW + dt.timedelta(hours=1))["frozen"] == 0


def test_the_month_end_task_runs_under_a_run_record(county_year, areas):
    from monitoring import tasks
    from monitoring.models import TaskName, TaskRun

    result = tasks.freeze_ledgers.apply(kwargs={"area_code": "130727"}).get()
    run = TaskRun.objects.get(pk=result["run"])
    assert run.task == TaskName.FREEZE_LEDGERS and run.status == "succeeded"
    year, month = freezing.previous_month(timezone.localdate())
    assert FrozenMonth.objects.filter(year=year, month=month).count() == 1


def test_township_and_village_users_read_their_part(county_year, areas, cadre, township_reviewer):
    frozen = freezing.freeze_previous_month(now=NOW) and FrozenMonth.objects.get()
    assert set(FrozenMonth.objects.for_user(cadre)) == {frozen}
    mine = freezing.visible_rows(frozen, user=cadre)
    assert mine.exists() and all(code == "130727100201" for code in mine.values_list("area_code", flat=True))
    assert (
        not freezing.visible_rows(frozen, user=township_reviewer)
        .filter(area_code__startswith="1307272")
        .exists()
    )
    stranger = af.user(Role.DEPARTMENT, areas["county"])
    assert not FrozenMonth.objects.for_user(stranger).exists()


def test_the_frozen_rows_equal_the_as_of_ledgers(county_year, areas, county_approver):
    from reports import selectors

    frozen = freezing.freeze_month(county=areas["county"], year=2025, month=6, actor=county_approver, now=NOW)
    for ledger in (Ledger.KEY_MONITORING, Ledger.STABLE_OUT_OF_POVERTY, Ledger.ORDINARY, Ledger.LOW_INCOME):
        as_of = selectors.ledger_households(ledger, user=county_approver, as_of=dt.date(2025, 6, 30))
        assert {r[0] for r in rows_of(frozen, ledger)} == set(as_of.values_list("pk", flat=True))
    assert LedgerSpan.objects.exists() and Household.objects.count() == 3


# --- pages ---------------------------------------------------------------------------------


def test_the_counts_page_links_the_frozen_months(client, county_approver, areas):
    client.force_login(county_approver)
    page = client.get("/reports/").content.decode()
    assert 'href="/reports/frozen/"' in page


def test_an_approver_freezes_last_month_from_the_page_once(client, county_year, areas, county_approver):
    county_approver.full_name = "王审定"
    county_approver.save()
    client.force_login(county_approver)
    listing = client.get("/reports/frozen/")
    assert listing.status_code == 200 and 'id="freeze-form"' in listing.content.decode()
    # without the confirmation nothing happens
    refused = client.post("/reports/frozen/freeze/", {"county": areas["county"].pk}, follow=True)
    assert "请勾选确认" in refused.content.decode() and not FrozenMonth.objects.exists()
    done = client.post(
        "/reports/frozen/freeze/", {"county": areas["county"].pk, "confirm": "yes"}, follow=True
    )
    frozen = FrozenMonth.objects.get()
    assert done.redirect_chain[-1][0] == f"/reports/frozen/{frozen.pk}/"
    body = done.content.decode()
    assert "王审定" in body and 'id="frozen-diff"' in body
    year, month = freezing.previous_month(timezone.localdate())
    assert (frozen.year, frozen.month, frozen.frozen_by) == (year, month, county_approver)
    again = client.post(
        "/reports/frozen/freeze/", {"county": areas["county"].pk, "confirm": "yes"}, follow=True
    )
    assert "不能重复封存" in again.content.decode() and FrozenMonth.objects.count() == 1
    listing = client.get("/reports/frozen/").content.decode()
    assert f'data-month="{year}-{month}"' in listing and "王审定" in listing


def test_the_detail_page_shows_a_ledgers_rows_and_refuses_bad_input(
    client, county_year, areas, county_approver
):
    frozen = freezing.freeze_month(
        county=areas["county"], year=2025, month=11, actor=county_approver, now=NOW
    )
    client.force_login(county_approver)
    page = client.get(f"/reports/frozen/{frozen.pk}/?ledger=key_monitoring").content.decode()
    assert county_year["monitored"].number in page and "边缘易致贫户" in page
    for ledger in Ledger:
        assert client.get(f"/reports/frozen/{frozen.pk}/?ledger={ledger}").status_code == 200
    assert client.get(f"/reports/frozen/{frozen.pk}/?ledger=nonsense&page=x").status_code == 200
    assert client.get("/reports/frozen/999999/").status_code == 404


def test_village_users_read_their_part_and_cannot_freeze(client, county_year, areas, cadre, county_approver):
    frozen = freezing.freeze_month(
        county=areas["county"], year=2025, month=11, actor=county_approver, now=NOW
    )
    client.force_login(cadre)
    listing = client.get("/reports/frozen/").content.decode()
    assert 'id="freeze-form"' not in listing and f"/reports/frozen/{frozen.pk}/" in listing
    page = client.get(f"/reports/frozen/{frozen.pk}/?ledger=stable_out_of_poverty").content.decode()
    assert county_year["stable"].number not in page  # 乙 lives in 三村, not the cadre's village
    assert (
        client.post("/reports/frozen/freeze/", {"county": areas["county"].pk, "confirm": "yes"}).status_code
        == 403
    )
    helper = af.user(Role.HELPER)
    client.force_login(helper)
    assert client.get("/reports/frozen/").status_code == 403
    assert client.get(f"/reports/frozen/{frozen.pk}/").status_code == 403


def test_run_on_demand_freezes_only_what_the_actor_may(
    county_year, areas, township_reviewer, county_approver
):
    township = freezing.freeze_previous_month(now=NOW, area_code=areas["t1"].code, actor=county_approver)
    assert township["frozen"] == 0  # a county is frozen whole, not from a township
    refused = freezing.freeze_previous_month(now=NOW, area_code=areas["county"].code, actor=township_reviewer)
    assert refused["frozen"] == 0 and not FrozenMonth.objects.exists()
    done = freezing.freeze_previous_month(now=NOW, area_code=areas["county"].code, actor=county_approver)
    assert done["frozen"] == 1 and FrozenMonth.objects.get().frozen_by == county_approver
