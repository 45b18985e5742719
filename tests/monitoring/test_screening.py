"""The annual concentrated screening (monitoring.services.screening): a campaign per county and
year, one visit task per household spread over the window, completed by a visit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import Notification, NotificationKind, Role
from households.models import Household
from monitoring.models import CountySettings, ScreeningCampaign, VisitTask
from monitoring.services.screening import screening_campaign, window
from monitoring.services.visits import visit_record
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import UTC, at, d

START, END = d(5, 1), d(5, 30)  # the default window: 1 May, 30 days
PER_VILLAGE = {"v11": 3, "v12": 2, "v21": 2, "v22": 1}
NOTHING = {"campaigns_opened": 0, "tasks": 0, "done_already": 0, "counties_in_window": 0}


@pytest.fixture
def households(areas):
    """Households of Yangyuan, registered on 1 January, by village."""
    return {
        village: [hf.household(areas[village], registered=d(1, 1)) for _ in range(n)]
        for village, n in PER_VILLAGE.items()
    }


@pytest.fixture
def cadres(areas):
    return {v: af.user(Role.VILLAGE_CADRE, areas[v], username=f"cadre_{v}") for v in PER_VILLAGE}


@pytest.fixture
def reviewer(township_reviewer):
    return township_reviewer


@pytest.fixture
def other_county(other_county):
    """The second county, with two households registered on 1 January."""
    village = other_county["village"]
    return {**other_county, "households": [hf.household(village, registered=d(1, 1)) for _ in range(2)]}


def ours(areas) -> ScreeningCampaign:
    return ScreeningCampaign.objects.get(county=areas["county"])


def tasks_in_order(campaign: ScreeningCampaign) -> list[VisitTask]:
    return list(campaign.tasks.select_related("household").order_by("area_code", "household__number"))


def county_settings(county, **fields) -> CountySettings:
    default = CountySettings.objects.get(county__isnull=True)
    return CountySettings.objects.create(
        county=county,
        identification_procedure=default.identification_procedure,
        exit_procedure=default.exit_procedure,
        **fields,
    )


def test_the_window(areas):
    assert window(2026, CountySettings()) == (START, END)
    assert window(2027, CountySettings(screening_month=9, screening_day=15, screening_days=10)) == (
        d(9, 15, 2027),
        d(9, 24, 2027),
    )


# ---------------------------------------------------------------------------------------------
# Opening the campaign
# ---------------------------------------------------------------------------------------------


def test_nothing_happens_before_the_window(areas, households, cadres):
    assert screening_campaign(now=at(d(4, 30), 23, 59)) == NOTHING
    # 15:59 UTC on 30 April is still 30 April in Shanghai
    assert screening_campaign(now=dt.datetime(2026, 4, 30, 15, 59, tzinfo=UTC)) == NOTHING
    assert not ScreeningCampaign.objects.exists()
    assert not VisitTask.objects.exists()
    assert not Notification.objects.exists()


def test_the_start_day_in_shanghai_opens_the_campaign(areas, households):
    # 16:30 UTC on 30 April is 00:30 on 1 May in Shanghai
    result = screening_campaign(now=dt.datetime(2026, 4, 30, 16, 30, tzinfo=UTC))
    assert result == {"campaigns_opened": 1, "tasks": 8, "done_already": 0, "counties_in_window": 1}


def test_the_start_day_opens_one_campaign_with_a_task_per_household(areas, households, other_county):
    now = at(START, 2)
    result = screening_campaign(now=now)
    assert result == {"campaigns_opened": 2, "tasks": 8 + 2, "done_already": 0, "counties_in_window": 2}
    campaign = ours(areas)
    assert (campaign.year, campaign.start_date, campaign.end_date) == (2026, START, END)
    assert campaign.created_at == now and campaign.created_by is None

    mine = {hh.pk for hs in households.values() for hh in hs}
    theirs = {hh.pk for hh in other_county["households"]}
    assert set(campaign.tasks.values_list("household_id", flat=True)) == mine
    assert campaign.tasks.count() == len(mine)  # one each
    other = ScreeningCampaign.objects.get(county=other_county["county"])
    assert set(other.tasks.values_list("household_id", flat=True)) == theirs
    for task in VisitTask.objects.select_related("household"):
        assert task.area_code == task.household.area_code
        assert task.visit_id is None and task.done_on is None


def test_due_dates_are_spread_over_the_window_village_after_village(areas, households):
    screening_campaign(now=at(START))
    tasks = tasks_in_order(ours(areas))
    dues = [t.due_date for t in tasks]
    n, days = len(tasks), 30
    assert all(START <= due <= END for due in dues)
    assert dues == sorted(dues)  # non-decreasing along area code and household number
    assert dues[0] == START
    assert dues[-1] >= END - dt.timedelta(days=days // n + 1)  # the last one near the end
    assert dues == [START + dt.timedelta(days=i * days // n) for i in range(n)]  # evenly
    # each village's visits fall on consecutive stretches, in village order
    villages = [t.area_code for t in tasks]
    assert villages == sorted(villages)


def test_a_second_run_adds_nothing(areas, households, cadres):
    screening_campaign(now=at(START, 1))
    tasks = sorted(VisitTask.objects.values_list("pk", "household_id", "due_date"))
    notes = Notification.objects.count()
    for now in (at(START, 1), at(START, 12), at(START + dt.timedelta(days=1)), at(END)):
        assert screening_campaign(now=now) == {
            "campaigns_opened": 0,
            "tasks": 0,
            "done_already": 0,
            "counties_in_window": 1,
        }
    assert sorted(VisitTask.objects.values_list("pk", "household_id", "due_date")) == tasks
    assert ScreeningCampaign.objects.count() == 1
    assert Notification.objects.count() == notes


def test_a_household_registered_later_gets_its_task_on_the_next_run(areas, households, cadres):
    screening_campaign(now=at(START))
    campaign = ours(areas)
    last = VisitTask.objects.latest("pk").pk
    late = hf.household(areas["v12"], registered=d(5, 3))
    assert not VisitTask.objects.filter(household=late).exists()
    result = screening_campaign(now=at(d(5, 4)))
    assert result == {"campaigns_opened": 0, "tasks": 1, "done_already": 0, "counties_in_window": 1}
    task = VisitTask.objects.get(household=late)
    assert task.campaign == campaign
    assert task.area_code == areas["v12"].code
    assert task.due_date == d(5, 4)  # the first day of what is left of the window, not 1 May
    assert task.pk > last
    assert VisitTask.objects.count() == 9
    # the cadre of its village hears of its new task, keyed by the last task before this run
    note = Notification.objects.get(recipient=cadres["v12"], key__endswith=f":{last}")
    assert note.key == f"screening:{campaign.pk}:{areas['v12'].code}:{last}"
    assert note.kind == NotificationKind.SCREENING and note.area_code == areas["v12"].code
    assert "本村新增1户待走访" in note.title
    assert "2026-05-01" in note.title and "2026-05-30" in note.title
    assert screening_campaign(now=at(d(5, 5)))["tasks"] == 0


def test_nothing_new_after_the_window(areas, households, cadres):
    screening_campaign(now=at(START))
    hf.household(areas["v11"], registered=d(5, 30))
    notes = Notification.objects.count()
    assert screening_campaign(now=at(END + dt.timedelta(days=1), 0, 30)) == NOTHING
    assert VisitTask.objects.count() == 8
    assert Notification.objects.count() == notes


def test_a_run_after_the_window_opens_no_campaign(areas, households):
    assert screening_campaign(now=at(d(6, 1))) == NOTHING
    assert not ScreeningCampaign.objects.exists()


def test_village_cadres_are_told_how_many_households_to_visit(
    areas, households, cadres, reviewer, county_approver, other_county
):
    screening_campaign(now=at(START))
    campaign = ours(areas)
    told = sorted(
        (n.recipient.username, n.kind, n.key, n.area_code)
        for n in Notification.objects.select_related("recipient").filter(area_code__startswith="130727")
    )
    assert told == sorted(
        (
            f"cadre_{v}",
            NotificationKind.SCREENING,
            f"screening:{campaign.pk}:{areas[v].code}:0",  # no task before the first run
            areas[v].code,
        )
        for v in PER_VILLAGE
    )
    for v, n in PER_VILLAGE.items():
        note = Notification.objects.get(recipient=cadres[v])
        assert note.url == reverse("monitoring:screening")
        assert f"本村{n}户待走访" in note.title and "新增" not in note.title
        assert "2026-05-01" in note.title and "2026-05-30" in note.title
    # the other county's cadre is told about their own campaign only
    other_notes = Notification.objects.filter(recipient=other_county["cadre"])
    assert other_notes.count() == 1
    assert other_notes.get().area_code == other_county["village"].code
    assert not Notification.objects.filter(recipient__in=[reviewer, county_approver]).exists()


def test_area_code_limits_the_run_to_its_county(areas, households, other_county):
    result = screening_campaign(now=at(START), area_code=areas["v21"].code)
    assert result == {"campaigns_opened": 1, "tasks": 8, "done_already": 0, "counties_in_window": 1}
    assert list(ScreeningCampaign.objects.values_list("county__code", flat=True)) == ["130727000000"]
    result = screening_campaign(now=at(START), area_code=other_county["county"].code)
    assert result == {"campaigns_opened": 1, "tasks": 2, "done_already": 0, "counties_in_window": 1}


def test_an_actor_is_recorded_on_the_campaign(areas, households, operator):
    screening_campaign(now=at(START), actor=operator)
    assert ours(areas).created_by == operator


# ---------------------------------------------------------------------------------------------
# County settings
# ---------------------------------------------------------------------------------------------


def test_a_county_with_its_own_window(areas, households, other_county):
    county_settings(areas["county"], screening_month=9, screening_day=15, screening_days=10)
    # 1 May: only the other county (default window) opens
    assert screening_campaign(now=at(START)) == {
        "campaigns_opened": 1,
        "tasks": 2,
        "done_already": 0,
        "counties_in_window": 1,
    }
    assert not ScreeningCampaign.objects.filter(county=areas["county"]).exists()
    assert screening_campaign(now=at(d(9, 14), 23, 59))["counties_in_window"] == 0

    assert screening_campaign(now=at(d(9, 15), 1)) == {
        "campaigns_opened": 1,
        "tasks": 8,
        "done_already": 0,
        "counties_in_window": 1,
    }
    campaign = ours(areas)
    assert (campaign.start_date, campaign.end_date) == (d(9, 15), d(9, 24))
    dues = [t.due_date for t in tasks_in_order(campaign)]
    assert dues[0] == d(9, 15) and dues == sorted(dues)
    assert all(d(9, 15) <= due <= d(9, 24) for due in dues)
    assert dues == [d(9, 15) + dt.timedelta(days=i * 10 // 8) for i in range(8)]

    assert screening_campaign(now=at(d(9, 24)))["counties_in_window"] == 1
    assert screening_campaign(now=at(d(9, 25))) == NOTHING


def test_a_short_window_puts_several_households_on_a_day(areas, households):
    county_settings(areas["county"], screening_days=3)
    screening_campaign(now=at(START))
    dues = [t.due_date for t in tasks_in_order(ours(areas))]
    assert dues == sorted(dues)
    assert set(dues) == {d(5, 1), d(5, 2), d(5, 3)}


def test_next_year_opens_a_new_campaign(areas, households):
    screening_campaign(now=at(START))
    assert screening_campaign(now=at(d(5, 1, 2027))) == {
        "campaigns_opened": 1,
        "tasks": 8,
        "done_already": 0,
        "counties_in_window": 1,
    }
    assert sorted(ScreeningCampaign.objects.values_list("year", flat=True)) == [2026, 2027]
    assert VisitTask.objects.count() == 16


# ---------------------------------------------------------------------------------------------
# Visits complete the tasks
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def opened(areas, households, cadres):
    screening_campaign(now=at(START))
    return ours(areas)


@pytest.mark.parametrize("day", [START, d(5, 3), END, d(6, 15)])
def test_a_visit_from_the_start_day_on_completes_the_task(opened, households, cadres, day):
    hh = households["v11"][0]
    visit = visit_record(actor=cadres["v11"], household=hh, visited_on=day, now=at(day, 18))
    task = VisitTask.objects.get(household=hh)
    assert task.visit == visit and task.done_on == day
    # the others are still open
    assert VisitTask.objects.open().count() == 7
    assert VisitTask.objects.filter(household=households["v11"][1], visit__isnull=True).exists()


def test_a_visit_before_the_start_day_does_not(opened, households, cadres):
    hh = households["v11"][0]
    visit_record(actor=cadres["v11"], household=hh, visited_on=d(4, 30), now=at(START, 18))
    task = VisitTask.objects.get(household=hh)
    assert task.visit is None and task.done_on is None


def test_a_second_visit_does_not_move_a_done_task(opened, households, cadres):
    hh = households["v21"][0]
    first = visit_record(actor=cadres["v21"], household=hh, visited_on=d(5, 2), now=at(d(5, 2), 18))
    visit_record(actor=cadres["v21"], household=hh, visited_on=d(5, 9), now=at(d(5, 9), 18))
    task = VisitTask.objects.get(household=hh)
    assert task.visit == first and task.done_on == d(5, 2)


def test_a_visit_in_another_year_does_not_complete_this_years_task(opened, households, cadres):
    hh = households["v11"][0]
    visit_record(actor=cadres["v11"], household=hh, visited_on=d(1, 5, 2027), now=at(d(1, 5, 2027)))
    assert VisitTask.objects.get(household=hh).visit is None


def test_a_top_up_tells_only_the_villages_with_new_tasks(areas, households, cadres):
    screening_campaign(now=at(START))
    campaign = ours(areas)
    last = VisitTask.objects.latest("pk").pk
    for hh in households["v11"][:2]:
        visit_record(actor=cadres["v11"], household=hh, visited_on=d(5, 2), now=at(d(5, 2), 18))
    hf.household(areas["v11"], registered=d(5, 3))
    before = Notification.objects.count()
    screening_campaign(now=at(d(5, 4)))
    v11 = areas["v11"].code
    keys = set(Notification.objects.filter(recipient=cadres["v11"]).values_list("key", flat=True))
    assert keys == {f"screening:{campaign.pk}:{v11}:0", f"screening:{campaign.pk}:{v11}:{last}"}
    # the count is of the new tasks (1), not of all those still open (1 old + 1 new)
    top_up = Notification.objects.get(recipient=cadres["v11"], key__endswith=f":{last}")
    assert "本村新增1户待走访" in top_up.title
    # the other villages got no new task: they are not told again
    assert Notification.objects.count() == before + 1


def test_a_top_up_of_several_villages_tells_each_its_own_count(areas, households, cadres):
    screening_campaign(now=at(START))
    campaign = ours(areas)
    last = VisitTask.objects.latest("pk").pk
    for village, n in (("v11", 2), ("v22", 1)):
        for _ in range(n):
            hf.household(areas[village], registered=d(5, 5))
    before = Notification.objects.count()
    assert screening_campaign(now=at(d(5, 6)))["tasks"] == 3
    new = Notification.objects.exclude(key__endswith=":0").select_related("recipient")
    assert sorted((n.recipient.username, n.key) for n in new) == [
        ("cadre_v11", f"screening:{campaign.pk}:{areas['v11'].code}:{last}"),
        ("cadre_v22", f"screening:{campaign.pk}:{areas['v22'].code}:{last}"),
    ]
    assert "本村新增2户待走访" in new.get(recipient=cadres["v11"]).title
    assert "本村新增1户待走访" in new.get(recipient=cadres["v22"]).title
    assert Notification.objects.count() == before + 2

    # a second top-up in the same village is a new notification (a new key), not a repeat
    last = VisitTask.objects.latest("pk").pk
    hf.household(areas["v11"], registered=d(5, 7))
    screening_campaign(now=at(d(5, 8)))
    assert Notification.objects.filter(
        recipient=cadres["v11"], key=f"screening:{campaign.pk}:{areas['v11'].code}:{last}"
    ).exists()
    assert Notification.objects.count() == before + 3


# ---------------------------------------------------------------------------------------------
# Top-ups: due dates over what is left of the window
# ---------------------------------------------------------------------------------------------


def test_top_up_tasks_are_spread_over_what_is_left_of_the_window(areas, households, cadres):
    screening_campaign(now=at(START))
    late = [hf.household(areas[v], registered=d(5, 10)) for v in ("v11", "v12", "v21", "v22")]
    screening_campaign(now=at(d(5, 11), 1))
    tasks = list(VisitTask.objects.filter(household__in=late).order_by("area_code", "household__number"))
    # 20 days left (11 to 30 May), 4 households: every 5 days from today
    assert [t.due_date for t in tasks] == [d(5, 11), d(5, 16), d(5, 21), d(5, 26)]
    # the tasks of the first run keep their due dates
    first = [t.due_date for t in tasks_in_order(ours(areas)) if t.household_id not in {h.pk for h in late}]
    assert first == [START + dt.timedelta(days=i * 30 // 8) for i in range(8)]


def test_a_top_up_on_the_last_day_is_due_that_day(areas, households, cadres):
    screening_campaign(now=at(START))
    late = [hf.household(areas["v21"], registered=d(5, 29)) for _ in range(3)]
    assert screening_campaign(now=at(END, 23, 59))["tasks"] == 3
    assert set(VisitTask.objects.filter(household__in=late).values_list("due_date", flat=True)) == {END}


def test_a_campaign_first_opened_after_its_start_day_is_spread_over_the_rest(areas, households, cadres):
    # the daily task did not run from 1 to 10 May: the tasks are not due in the past
    result = screening_campaign(now=at(d(5, 11)))
    assert result == {"campaigns_opened": 1, "tasks": 8, "done_already": 0, "counties_in_window": 1}
    campaign = ours(areas)
    assert (campaign.start_date, campaign.end_date) == (START, END)
    dues = [t.due_date for t in tasks_in_order(campaign)]
    assert dues == [d(5, 11) + dt.timedelta(days=i * 20 // 8) for i in range(8)]
    # and the cadres' titles name the campaign's window
    note = Notification.objects.get(recipient=cadres["v11"])
    assert note.key.endswith(":0") and "本村3户待走访" in note.title and "2026-05-01" in note.title


def test_a_household_visited_before_its_task_was_created_has_its_task_done(areas, households, cadres):
    screening_campaign(now=at(START))
    before = Notification.objects.count()
    late = hf.household(areas["v12"], registered=d(5, 10))
    visit = visit_record(actor=cadres["v12"], household=late, visited_on=d(5, 10), now=at(d(5, 10), 15))
    result = screening_campaign(now=at(d(5, 11), 1))
    assert result == {"campaigns_opened": 0, "tasks": 1, "done_already": 1, "counties_in_window": 1}
    task = VisitTask.objects.get(household=late)
    assert task.visit == visit and task.done_on == d(5, 10)
    # nothing left to visit in the village: its cadre is not told
    assert Notification.objects.count() == before


def test_visits_since_the_start_day_complete_the_tasks_of_a_first_run(areas, households, cadres):
    v11 = households["v11"]
    before_start = visit_record(
        actor=cadres["v11"], household=v11[0], visited_on=d(4, 30), now=at(d(4, 30), 15)
    )
    first = visit_record(actor=cadres["v11"], household=v11[1], visited_on=d(5, 2), now=at(d(5, 2), 15))
    visit_record(actor=cadres["v11"], household=v11[1], visited_on=d(5, 3), now=at(d(5, 3), 15))
    result = screening_campaign(now=at(d(5, 4)))
    assert result == {"campaigns_opened": 1, "tasks": 8, "done_already": 1, "counties_in_window": 1}
    assert VisitTask.objects.get(household=v11[0]).visit is None  # visited before the start day
    assert before_start.visited_on < START
    done = VisitTask.objects.get(household=v11[1])
    assert done.visit == first and done.done_on == d(5, 2)  # the first visit since the start
    assert VisitTask.objects.open().count() == 7
    # the cadre counts only the households still to visit
    assert "本村2户待走访" in Notification.objects.get(recipient=cadres["v11"]).title


def test_a_visit_of_last_year_does_not_complete_a_new_task(areas, households, cadres):
    hh = hf.household(areas["v21"], registered=d(1, 1, 2025))
    visit_record(actor=cadres["v21"], household=hh, visited_on=d(5, 20, 2025), now=at(d(5, 20, 2025)))
    assert screening_campaign(now=at(START))["done_already"] == 0
    assert VisitTask.objects.get(household=hh).visit is None


def test_households_of_the_campaign_are_those_of_its_county(areas, households, other_county):
    screening_campaign(now=at(START))
    for campaign in ScreeningCampaign.objects.select_related("county"):
        prefix = campaign.county.code[:6]
        assert all(code.startswith(prefix) for code in campaign.tasks.values_list("area_code", flat=True))
        assert campaign.tasks.count() == Household.objects.filter(area_code__startswith=prefix).count()
