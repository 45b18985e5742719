"""Helper pairing: the pure rule, bulk pairing within the limit, a helper leaving (history and
visits kept), and the unassigned monitored households."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role
from households.models import Helper, HelperAssignment, Household
from monitoring.models import StatusChange, Visit
from monitoring.rules.pairing import Candidate, plan_pairs, rank
from monitoring.services import pairing
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import at, d

NOW = at(d(6, 15))
START = d(6, 15)


# --- the pure rule ----------------------------------------------------------------------------


def test_rank_own_village_then_nearest_in_the_township_then_helpers_without_a_village():
    v = "130727100205"
    assert rank(v, v) == (0, 0)
    assert rank(v, "130727100204") == (1, 1) and rank(v, "130727100209") == (1, 4)
    assert rank(v, "") == (2, 0)
    assert rank(v, "130727200205") is None  # another township


def test_plan_fills_own_village_first_and_respects_the_limit():
    households = [(1, "130727100201"), (2, "130727100201"), (3, "130727100201"), (4, "130727100203")]
    helpers = [
        Candidate(10, "130727100201", 0),
        Candidate(11, "130727100202", 0),  # nearest to 201 and to 203
        Candidate(12, "130727100209", 0),
        Candidate(13, "", 0),
        Candidate(14, "130727200201", 0),  # another township: never
    ]
    plan = plan_pairs(households, helpers, limit=2)
    assert plan.pairs == [(1, 10), (2, 10), (3, 11), (4, 11)]
    assert plan.unpaired == []
    assert max(plan.loads.values()) <= 2 and plan.loads[14] == 0


def test_plan_counts_the_existing_load_and_leaves_the_rest_unpaired():
    households = [(i, "130727100201") for i in range(1, 6)]
    helpers = [Candidate(10, "130727100201", 2), Candidate(11, "", 1)]
    plan = plan_pairs(households, helpers, limit=3)
    assert plan.pairs == [(1, 10), (2, 11), (3, 11)]
    assert plan.unpaired == [4, 5]
    assert plan.loads == {10: 3, 11: 3}


def test_ties_go_to_the_lighter_load_then_the_lower_id():
    helpers = [
        Candidate(11, "130727100201", 1),
        Candidate(10, "130727100201", 1),
        Candidate(9, "130727100201", 2),
    ]
    plan = plan_pairs([(1, "130727100201"), (2, "130727100201")], helpers, limit=5)
    assert plan.pairs == [(1, 10), (2, 11)]


# --- the services -----------------------------------------------------------------------------


def monitored(village, n: int) -> list[Household]:
    out = []
    for _ in range(n):
        hh = hf.household(village, members=1)
        Household.objects.filter(pk=hh.pk).update(monitoring_status="monitored")
        out.append(Household.objects.get(pk=hh.pk))
    return out


def helper(county, village=None, name="帮扶人"):
    h = hf.helper(county, None, name=name)
    h.village = village
    h.save()
    return h


@pytest.fixture
def township(areas):
    """Five monitored households in v11, two in v12; helpers: one in v11, one in v12, one in
    another township (v21), one of the county without a village."""
    return {
        "v11": monitored(areas["v11"], 5),
        "v12": monitored(areas["v12"], 2),
        "h11": helper(areas["county"], areas["v11"], "一村帮扶人"),
        "h12": helper(areas["county"], areas["v12"], "二村帮扶人"),
        "h21": helper(areas["county"], areas["v21"], "三村帮扶人"),
        "hx": helper(areas["county"], None, "县直帮扶人"),
    }


def loads(on=START):
    return dict(pairing.helper_loads(Helper.objects.all(), on=on).values_list("name", "load"))


def test_bulk_pairing_of_a_township_respects_the_limit(areas, township_reviewer, township):
    result = pairing.pair_helpers(
        actor=township_reviewer, area=areas["t1"], start_date=START, limit=2, now=NOW
    )
    assert result.written and len(result.pairs) == 6 and len(result.unpaired) == 1
    assert loads() == {"一村帮扶人": 2, "二村帮扶人": 2, "三村帮扶人": 0, "县直帮扶人": 2}
    # own village first: the v11 helper took v11 households, the v12 helper v12's first
    by_helper = {}
    for household, h in result.pairs:
        by_helper.setdefault(h.name, []).append(household.village_id)
    assert by_helper["一村帮扶人"] == [areas["v11"].pk] * 2
    assert areas["v12"].pk in by_helper["二村帮扶人"]
    # the unpaired one is still a to-do, and a second run with room pairs exactly it
    todo = pairing.unassigned_monitored(Household.objects.all(), on=START)
    assert list(todo) == result.unpaired
    again = pairing.pair_helpers(
        actor=township_reviewer, area=areas["t1"], start_date=START, limit=3, now=NOW
    )
    assert [hh for hh, _h in again.pairs] == result.unpaired
    assert not pairing.unassigned_monitored(Household.objects.all(), on=START).exists()
    # the history says who paired and why
    record = HelperAssignment.history.filter(history_type="+").first()
    assert record.history_user == township_reviewer and record.history_change_reason == "批量结对"


def test_the_county_setting_is_the_default_limit(areas, township_reviewer, township):
    from monitoring.models import CountySettings

    settings = CountySettings.objects.filter(county__isnull=True).first()
    settings.helper_max_households = 1
    settings.save()
    result = pairing.pair_helpers(actor=township_reviewer, area=areas["t1"], start_date=START, now=NOW)
    assert result.limit == 1 and len(result.pairs) == 3 and len(result.unpaired) == 4


def test_a_dry_run_writes_nothing(areas, township_reviewer, township):
    result = pairing.pair_helpers(
        actor=township_reviewer, area=areas["t1"], start_date=START, limit=5, dry_run=True, now=NOW
    )
    assert len(result.pairs) == 7 and not result.written
    assert HelperAssignment.objects.count() == 0


def test_pairing_is_refused_outside_the_area_and_for_bad_input(areas, cadre, township):
    with pytest.raises(NotAllowed):
        pairing.pair_helpers(actor=cadre, area=areas["t1"], start_date=START, limit=2, now=NOW)
    with pytest.raises(ValidationError) as exc:
        pairing.pair_helpers(actor=cadre, area=areas["v11"], start_date=None, limit=0, now=NOW)
    assert set(exc.value.message_dict) == {"start_date", "limit"}
    helper_login = af.user(Role.HELPER, username="h")
    with pytest.raises(NotAllowed):
        pairing.pair_helpers(actor=helper_login, area=areas["v11"], start_date=START, limit=2, now=NOW)
    # a cadre pairs their own village
    result = pairing.pair_helpers(actor=cadre, area=areas["v11"], start_date=START, limit=3, now=NOW)
    assert len(result.pairs) == 5


def test_a_helper_leaving_hands_the_households_on_and_keeps_the_visit_history(
    areas, township_reviewer, township
):
    pairing.pair_helpers(actor=township_reviewer, area=areas["v11"], start_date=d(3, 1), limit=3, now=NOW)
    leaving = township["h11"]
    theirs = list(HelperAssignment.objects.filter(helper=leaving).values_list("household_id", flat=True))
    assert len(theirs) == 3
    for household_id in theirs:
        Visit.objects.create(
            household_id=household_id, area_code=areas["v11"].code, helper=leaving, visited_on=d(5, 20)
        )
    result = pairing.helper_leave(
        actor=township_reviewer, helper=leaving, left_on=d(6, 10), reason="调回原单位", limit=3, now=NOW
    )
    leaving.refresh_from_db()
    assert leaving.left_on == d(6, 10)
    # the old assignments are kept, ended on the leaving day
    old = HelperAssignment.objects.filter(helper=leaving)
    assert old.count() == 3 and set(old.values_list("end_date", flat=True)) == {d(6, 10)}
    # each household has a new responsible helper from the next day, never the one who left
    assert sorted(hh.pk for hh, _h in result.pairs) == sorted(theirs)
    assert all(h.pk != leaving.pk for _hh, h in result.pairs)
    assert result.start_date == d(6, 11)
    assert not pairing.unassigned_monitored(Household.objects.filter(pk__in=theirs), on=d(6, 11)).exists()
    # nobody exceeds the limit
    assert max(loads(d(6, 11)).values()) <= 3
    # the visits are still there, by the helper who made them
    assert Visit.objects.filter(helper=leaving, household_id__in=theirs).count() == 3
    assert (
        StatusChange.objects.filter(object_type="helper", object_id=leaving.pk, action="leave").count() == 1
    )
    # a helper who left is not paired again
    again = pairing.pair_helpers(
        actor=township_reviewer, area=areas["t1"], start_date=d(6, 12), limit=9, now=NOW
    )
    assert all(h.pk != leaving.pk for _hh, h in again.pairs)
    with pytest.raises(ValidationError) as exc:
        pairing.helper_leave(
            actor=township_reviewer, helper=leaving, left_on=d(6, 12), reason="再次", now=NOW
        )
    assert "left_on" in exc.value.message_dict


def test_leaving_needs_a_reason_and_the_right_role(areas, cadre, township_reviewer, township):
    with pytest.raises(NotAllowed):
        pairing.helper_leave(actor=cadre, helper=township["h11"], left_on=START, reason="x", now=NOW)
    with pytest.raises(NotAllowed):  # another township's helper
        pairing.helper_leave(
            actor=township_reviewer, helper=township["h21"], left_on=START, reason="x", now=NOW
        )
    with pytest.raises(ValidationError) as exc:
        pairing.helper_leave(
            actor=township_reviewer, helper=township["h11"], left_on=None, reason=" ", now=NOW
        )
    assert set(exc.value.message_dict) == {"left_on", "reason"}


def test_a_household_with_a_responsible_helper_is_not_a_todo(areas, township):
    hh = township["v11"][0]
    HelperAssignment.objects.create(helper=township["h11"], household=hh, start_date=d(1, 1))
    todo = pairing.unassigned_monitored(Household.objects.all(), on=START)
    assert hh not in todo and todo.count() == 6
    # a contact (not the responsible helper) does not count, nor an ended assignment
    HelperAssignment.objects.filter(household=hh).update(end_date=d(6, 1))
    HelperAssignment.objects.create(helper=township["h12"], household=hh, kind="contact", start_date=d(1, 1))
    assert pairing.unassigned_monitored(Household.objects.all(), on=START).count() == 7
    assert pairing.unassigned_monitored(Household.objects.all(), on=d(5, 31)).count() == 6
    _ = dt
