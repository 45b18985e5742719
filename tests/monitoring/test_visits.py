"""Monitoring visits (monitoring.services.visits)."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role
from monitoring.models import CaseStatus, Clue, CountySettings, Visit
from monitoring.rules import deadlines
from monitoring.rules.deadlines import State
from monitoring.services import visits
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

NOW = mf.at(dt.date(2026, 3, 20))


@pytest.fixture
def household(areas):
    """A household of one, registered on 1 December 2025."""
    return hf.household(areas["v11"], labour=("normal",), registered=dt.date(2025, 12, 1))


@pytest.fixture
def helper_user(helper_user, household):
    """The household's helper since 1 January 2026."""
    hf.assign(helper_user, household, dt.date(2026, 1, 1))
    return helper_user


@pytest.fixture
def case(household):
    """The household's case, monitored since 10 January 2026."""
    return mf.case(household, identified_on=dt.date(2026, 1, 10))


# --- recording -------------------------------------------------------------------------------------


def test_helper_records_a_visit_and_the_next_one_falls_due(case, household, helper_user):
    visit = visits.visit_record(
        actor=helper_user,
        household=household,
        visited_on=dt.date(2026, 3, 15),
        wages="1200",
        transfer=300,
        housing_secure=False,
        needs="房屋漏雨",
        notes="已联系住建部门",
        now=NOW,
    )
    assert visit.case == case
    assert visit.helper == helper_user.helper_profile
    assert visit.visited_by == helper_user
    assert visit.area_code == household.area_code
    assert (str(visit.wages), str(visit.transfer), visit.business) == ("1200.00", "300.00", None)
    assert visit.housing_secure is False and visit.drinking_water_secure is True
    case.refresh_from_db()
    assert case.next_visit_due == dt.date(2026, 4, 14)


def test_village_cadre_records_a_visit(case, household, cadre):
    visit = visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 1), now=NOW)
    assert visit.helper is None and visit.visited_by == cadre
    case.refresh_from_db()
    assert case.next_visit_due == dt.date(2026, 3, 31)


def test_cadre_may_record_a_visit_for_the_assigned_helper(case, household, cadre, helper_user):
    visit = visits.visit_record(
        actor=cadre,
        household=household,
        visited_on=dt.date(2026, 3, 1),
        helper=helper_user.helper_profile,
        now=NOW,
    )
    assert visit.helper == helper_user.helper_profile


def test_helper_not_assigned_to_the_household_is_refused(case, household, areas):
    stranger = af.user(Role.HELPER)
    hf.helper(areas["county"], stranger, name="别人")
    with pytest.raises(NotAllowed):
        visits.visit_record(actor=stranger, household=household, visited_on=dt.date(2026, 3, 1), now=NOW)
    no_profile = af.user(Role.HELPER)
    with pytest.raises(NotAllowed):
        visits.visit_record(actor=no_profile, household=household, visited_on=dt.date(2026, 3, 1), now=NOW)


def test_helper_assigned_after_the_visit_date_is_refused(case, household, helper_user):
    with pytest.raises(NotAllowed):
        visits.visit_record(actor=helper_user, household=household, visited_on=dt.date(2025, 12, 20), now=NOW)


def test_cadre_naming_an_unassigned_helper_is_refused(case, household, cadre, areas):
    other = hf.helper(areas["county"], name="未结对")
    with pytest.raises(ValidationError) as exc:
        visits.visit_record(
            actor=cadre, household=household, visited_on=dt.date(2026, 3, 1), helper=other, now=NOW
        )
    assert exc.value.message_dict == {"helper": ["该帮扶人在走访当日不是此户的帮扶人。"]}


def test_helper_cannot_record_for_someone_else(case, household, helper_user, areas):
    other = hf.helper(areas["county"], name="别人")
    with pytest.raises(ValidationError):
        visits.visit_record(
            actor=helper_user, household=household, visited_on=dt.date(2026, 3, 1), helper=other, now=NOW
        )


def test_cadre_of_another_village_and_other_roles_are_refused(case, household, areas, township_reviewer):
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v12"])
    with pytest.raises(NotAllowed):
        visits.visit_record(actor=other_cadre, household=household, visited_on=dt.date(2026, 3, 1), now=NOW)
    with pytest.raises(NotAllowed):
        visits.visit_record(
            actor=township_reviewer, household=household, visited_on=dt.date(2026, 3, 1), now=NOW
        )


def test_visit_in_the_future_is_refused(case, household, cadre):
    with pytest.raises(ValidationError) as exc:
        visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 21), now=NOW)
    assert exc.value.message_dict == {"visited_on": ["走访日期不能晚于今天。"]}
    # today itself is fine, in Shanghai time: 2026-03-20 17:00 UTC is already 21 March there
    late = dt.datetime(2026, 3, 20, 17, 0, tzinfo=dt.UTC)
    visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 21), now=late)


def test_visit_before_the_household_existed_is_refused(case, household, cadre):
    with pytest.raises(ValidationError) as exc:
        visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2025, 11, 30), now=NOW)
    assert exc.value.message_dict == {"visited_on": ["走访日期不能早于农户登记日期（2025-12-01）。"]}
    visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2025, 12, 1), now=NOW)


def test_bad_amounts_are_refused_and_nothing_saved(case, household, cadre):
    with pytest.raises(ValidationError) as exc:
        visits.visit_record(
            actor=cadre,
            household=household,
            visited_on=dt.date(2026, 3, 1),
            wages="-1",
            business="abc",
            now=NOW,
        )
    assert exc.value.message_dict == {"wages": ["金额不能为负数。"], "business": ["请填写数字金额。"]}
    assert not Visit.objects.exists()


def test_household_without_an_open_case(household, cadre):
    visit = visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 1), now=NOW)
    assert visit.case is None


def test_a_back_dated_visit_does_not_bring_the_next_one_forward(case, household, cadre):
    visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 10), now=NOW)
    visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 2, 10), now=NOW)
    case.refresh_from_db()
    assert case.next_visit_due == dt.date(2026, 4, 9)


def test_interval_is_the_countys_setting(case, household, cadre, areas):
    CountySettings.objects.create(county=areas["county"], visit_interval_days=90)
    visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 1), now=NOW)
    case.refresh_from_db()
    assert case.next_visit_due == dt.date(2026, 5, 30)


def test_visit_during_identification_does_not_count_before_monitoring_starts(household, cadre):
    case = mf.case(household, status=CaseStatus.MONITORED, identified_on=dt.date(2026, 3, 10))
    visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 5), now=NOW)
    case.refresh_from_db()
    assert case.next_visit_due == dt.date(2026, 4, 9)


def test_closed_case_gets_no_visit_due(household, cadre):
    case = mf.case(household, status=CaseStatus.ELIMINATED, eliminated_on=dt.date(2026, 3, 1))
    visit = visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 15), now=NOW)
    assert visit.case is None  # a closed case takes no more visits
    case.refresh_from_db()
    assert case.next_visit_due is None
    assert visits.case_visit_deadline(case, now=NOW).state is State.NONE


def test_identifying_case_takes_the_visit_but_no_schedule(household, cadre):
    case = mf.case(household, status=CaseStatus.IDENTIFYING, found_date=dt.date(2026, 3, 1))
    visit = visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 3, 15), now=NOW)
    assert visit.case == case
    case.refresh_from_db()
    assert case.next_visit_due is None


# --- next visit due: the pure rule ---------------------------------------------------------------


def _due(last, start, status=CaseStatus.MONITORED, today=dt.date(2026, 3, 1), interval=30):
    return visits.visit_due(last, start, interval, status, mf.at(today))


def test_due_on_the_due_day_and_overdue_the_day_after():
    on_due_day = _due(dt.date(2026, 2, 1), dt.date(2026, 1, 10), today=dt.date(2026, 3, 3))
    assert (on_due_day.state, on_due_day.due, on_due_day.days_left) == (
        State.DUE_SOON,
        dt.date(2026, 3, 3),
        0,
    )
    after = _due(dt.date(2026, 2, 1), dt.date(2026, 1, 10), today=dt.date(2026, 3, 4))
    assert (after.state, after.days_left) == (State.OVERDUE, -1)
    early = _due(dt.date(2026, 2, 1), dt.date(2026, 1, 10), today=dt.date(2026, 2, 5))
    assert early.state is State.ON_TIME


def test_due_soon_window():
    assert _due(dt.date(2026, 2, 1), None, today=dt.date(2026, 2, 25)).state is State.ON_TIME  # 6 days left
    assert _due(dt.date(2026, 2, 1), None, today=dt.date(2026, 2, 26)).state is State.DUE_SOON  # 5 days left


def test_without_a_visit_counts_from_identification():
    dl = _due(None, dt.date(2026, 1, 10), today=dt.date(2026, 2, 10))
    assert (dl.state, dl.due) == (State.OVERDUE, dt.date(2026, 2, 9))


def test_the_later_of_last_visit_and_identification_counts():
    assert _due(dt.date(2026, 1, 5), dt.date(2026, 1, 10)).due == dt.date(2026, 2, 9)
    assert _due(dt.date(2026, 1, 20), dt.date(2026, 1, 10)).due == dt.date(2026, 2, 19)


@pytest.mark.parametrize(
    ("status", "due"),
    [
        (CaseStatus.MONITORED, True),
        (CaseStatus.PROVISIONAL, True),
        (CaseStatus.SECURED_TRACKING, True),
        (CaseStatus.EXIT_IN_PROGRESS, True),
        (CaseStatus.IDENTIFYING, False),
        (CaseStatus.NOT_INCLUDED, False),
        (CaseStatus.ELIMINATED, False),
        (None, False),
    ],
)
def test_visits_stop_being_due_when_the_case_is_closed(status, due):
    dl = _due(dt.date(2026, 1, 1), dt.date(2026, 1, 1), status=status)
    if due:
        assert dl.state is State.OVERDUE
    else:
        assert dl == deadlines.Deadline(State.NONE, None, None)


def test_nothing_to_count_from():
    assert _due(None, None).state is State.NONE


def test_case_visit_deadline_reads_the_last_visit(case, household, cadre):
    visits.visit_record(actor=cadre, household=household, visited_on=dt.date(2026, 2, 1), now=NOW)
    dl = visits.case_visit_deadline(case, now=mf.at(dt.date(2026, 3, 4)))
    assert (dl.state, dl.due) == (State.OVERDUE, dt.date(2026, 3, 3))


# --- a visit that finds a risk --------------------------------------------------------------------


def test_a_visit_raising_a_clue(case, household, cadre):
    pytest.importorskip("monitoring.services.clues")
    visit = visits.visit_record(
        actor=cadre,
        household=household,
        visited_on=dt.date(2026, 3, 15),
        needs="户主住院",
        raise_clue={"risk_type_codes": ["01"], "description": "户主突发脑梗住院"},
        now=NOW,
    )
    clue = visit.raised_clue
    assert clue is not None
    assert (clue.channel, clue.found_date, clue.household, clue.description) == (
        "cadre_screening",
        dt.date(2026, 3, 15),
        household,
        "户主突发脑梗住院",
    )
    assert [rt.code for rt in clue.risk_types.all()] == ["01"]
    assert clue.reported_by == cadre
    assert clue.case == case  # the household's open case takes it in
    assert Clue.objects.get(pk=clue.pk).visit == visit
    assert visit.case == case


def test_the_assigned_helper_raises_a_clue_from_a_visit(case, household, helper_user):
    pytest.importorskip("monitoring.services.clues")
    visit = visits.visit_record(
        actor=helper_user,
        household=household,
        visited_on=dt.date(2026, 3, 15),
        raise_clue={"risk_type_codes": ["01"], "description": "户主住院"},
        now=NOW,
    )
    assert visit.raised_clue.reported_by == helper_user
    assert visit.raised_clue.case == case


def test_a_cadre_visit_raising_a_clue_for_a_household_not_monitored(household, cadre):
    pytest.importorskip("monitoring.services.clues")
    visit = visits.visit_record(
        actor=cadre,
        household=household,
        visited_on=dt.date(2026, 3, 15),
        raise_clue={"risk_type_codes": ["05"], "description": "车祸"},
        now=NOW,
    )
    clue = visit.raised_clue
    assert (clue.household, clue.channel, clue.reported_by) == (household, "cadre_screening", cadre)
    # cadre screening opens the identification procedure at once; the visit belongs to it
    assert clue.case is not None
    assert clue.case.status == CaseStatus.IDENTIFYING
    assert visit.case == clue.case


def test_raise_clue_needs_a_risk_type(case, household, cadre):
    with pytest.raises(ValidationError) as exc:
        visits.visit_record(
            actor=cadre,
            household=household,
            visited_on=dt.date(2026, 3, 15),
            raise_clue={"description": "不清楚"},
            now=NOW,
        )
    assert exc.value.message_dict == {"risk_type_codes": ["发现风险时请选择风险类型。"]}
    assert not Visit.objects.exists()


def test_permission_is_checked_before_the_input(case, household, areas):
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v12"])
    with pytest.raises(NotAllowed):
        visits.visit_record(actor=other_cadre, household=household, visited_on=dt.date(2030, 1, 1), now=NOW)
