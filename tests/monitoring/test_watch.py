"""The daily watches (monitoring.services.watch): deadlines, visits, measures, and the emails
they send. Every run has an explicit ``now``; days are Asia/Shanghai days."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AreaLevel, Notification, NotificationKind, Role
from accounts.notifications import notifications_email
from households import services as household_services
from monitoring.models import (
    AssistanceMeasure,
    Breach,
    CaseStatus,
    CaseStep,
    CountySettings,
    MeasureStatus,
)
from monitoring.rules import deadlines
from monitoring.selectors import case_deadlines
from monitoring.services.breaches import breaches_record
from monitoring.services.watch import deadline_watch, measure_watch, visit_watch
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import (
    UTC,
    at,
    complete,
    d,
    open_case,
    step,
)

# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def other_cadre(areas):
    """A cadre of another village of the same township."""
    return af.user(Role.VILLAGE_CADRE, areas["v12"], username="cadre_v12")


@pytest.fixture
def cadre_v21(areas):
    return af.user(Role.VILLAGE_CADRE, areas["v21"], username="cadre_v21")


@pytest.fixture
def reviewer_t2(areas):
    return af.user(Role.TOWNSHIP_REVIEWER, areas["t2"], username="reviewer_t2")


@pytest.fixture
def everyone(cadre, other_cadre, cadre_v21, township_reviewer, reviewer_t2, county_approver):
    """Users at every level, so a test can see who is *not* told."""


@pytest.fixture
def other_county(other_county):
    """The second county, with its own county approver."""
    approver = af.user(Role.COUNTY_APPROVER, other_county["county"], username="approver_other_county")
    return {**other_county, "approver": approver}


def sent(**filters) -> list[tuple[str, str, str]]:
    """(recipient username, kind, key) of the notifications stored, sorted."""
    return sorted(
        (n.recipient.username, n.kind, n.key)
        for n in Notification.objects.filter(**filters).select_related("recipient")
    )


def county_settings(county, **fields) -> CountySettings:
    """The county's own settings row (procedures copied from the default row)."""
    default = CountySettings.objects.get(county__isnull=True)
    return CountySettings.objects.create(
        county=county,
        identification_procedure=default.identification_procedure,
        exit_procedure=default.exit_procedure,
        **fields,
    )


# ---------------------------------------------------------------------------------------------
# Deadline watch: steps
# ---------------------------------------------------------------------------------------------


COUNTS = {
    "steps_due_soon",
    "steps_overdue",
    "cases_due_soon",
    "cases_overdue",
    "exits_due_soon",
    "exits_overdue",
    "notifications",
    "breaches",
    "escalated",
}


def test_the_case_opened_on_1_march(case):
    """Home verification (village cadre, village level) is due on 4 March, the case on 16 March."""
    assert step(case, "home_verification").due_date == d(3, 4)
    assert case.due_date == d(3, 16)


def test_the_counts(case):
    result = deadline_watch(now=at(d(2, 1)))
    assert set(result) == COUNTS
    assert set(result.values()) == {0}


def test_a_step_due_tomorrow_tells_the_cadre_of_its_village(case, everyone):
    hv = step(case, "home_verification")
    now = at(d(3, 3))  # 4 March is 1 day away
    result = deadline_watch(now=now)
    assert result["steps_due_soon"] == 1 and result["steps_overdue"] == 0
    assert result["cases_due_soon"] == 0  # the case itself is due on 16 March
    assert result["notifications"] == 1 and result["breaches"] == 0 and result["escalated"] == 0
    assert sent() == [("cadre_v11", NotificationKind.DUE_SOON, f"step-due:{hv.pk}:2026-03-04")]
    note = Notification.objects.get()
    assert note.url == reverse("monitoring:case_detail", args=[case.pk])
    assert note.area_code == case.area_code
    assert note.created_at == now
    assert note.read_at is None and note.emailed_at is None
    # the household by its head's name and village, not its 16-digit number
    household = case.household
    assert f"{household.village.name}{household.head.name}户" in note.title and hv.name in note.title
    assert household.number not in note.title
    assert not Breach.objects.exists()


@pytest.mark.parametrize("day", [d(3, 2), d(2, 27), d(2, 26)])
def test_a_step_due_in_two_days_or_more_tells_nobody(case, everyone, day):
    # 2 days away; 5 days (the county's due_soon_days, which is for the case deadline only); 6 days
    result = deadline_watch(now=at(day, 23, 59))
    assert result["steps_due_soon"] == 0 and result["notifications"] == 0
    assert not Notification.objects.exists()


def test_a_step_due_today_is_due_soon(case, everyone):
    hv = step(case, "home_verification")
    result = deadline_watch(now=at(d(3, 4), 23, 59))
    assert result["steps_due_soon"] == 1 and result["steps_overdue"] == 0
    assert sent() == [("cadre_v11", NotificationKind.DUE_SOON, f"step-due:{hv.pk}:2026-03-04")]
    assert not Breach.objects.exists()


def test_an_overdue_step_is_escalated_to_its_township_once(case, everyone):
    hv = step(case, "home_verification")
    first = at(d(3, 5), 8)
    result = deadline_watch(now=first)
    assert result["steps_overdue"] == 1 and result["breaches"] == 1 and result["escalated"] == 1
    breach = Breach.objects.get()
    assert (breach.kind, breach.step_id, breach.due_date, breach.escalated_to) == (
        "step",
        hv.pk,
        d(3, 4),
        AreaLevel.TOWNSHIP,
    )
    assert breach.notified_at == first
    assert sent() == [
        ("cadre_v11", NotificationKind.OVERDUE, f"step-overdue:{hv.pk}:2026-03-04"),
        ("reviewer_t1", NotificationKind.ESCALATION, f"breach:{breach.pk}"),
    ]
    escalation = Notification.objects.get(kind=NotificationKind.ESCALATION)
    assert escalation.url == reverse("monitoring:case_detail", args=[case.pk])
    assert hv.name in escalation.title
    before = sent()

    for now in (first, at(d(3, 5), 20), at(d(3, 6), 8)):  # the same now again, later that day, next day
        again = deadline_watch(now=now)
        assert again["notifications"] == 0 and again["breaches"] == 0 and again["escalated"] == 0
        assert again["steps_overdue"] == 1  # still overdue, just not told again
    assert sent() == before
    assert Breach.objects.count() == 1
    breach.refresh_from_db()
    assert breach.notified_at == first


def test_each_step_goes_to_its_own_role_at_its_own_level(case, actors, everyone):
    complete(case, "home_verification", actors, at(d(3, 2)))
    due = {s: step(case, s).due_date for s in ("data_comparison", "village_review", "township_review")}
    assert due == {"data_comparison": d(3, 7), "village_review": d(3, 4), "township_review": d(3, 7)}
    result = deadline_watch(now=at(d(3, 6), 12))  # the village review is late, the others due soon
    assert result["steps_due_soon"] == 2 and result["steps_overdue"] == 1
    codes = {step(case, c).pk: c for c in due}
    told = sorted(
        (n.recipient.username, codes[int(n.key.split(":")[1])], n.kind)
        for n in Notification.objects.select_related("recipient").exclude(kind=NotificationKind.ESCALATION)
    )
    assert told == [
        ("approver", "data_comparison", NotificationKind.DUE_SOON),
        ("cadre_v11", "village_review", NotificationKind.OVERDUE),
        ("reviewer_t1", "township_review", NotificationKind.DUE_SOON),
    ]
    # the late village review is escalated to the township
    breach = Breach.objects.get()
    assert breach.step == step(case, "village_review") and breach.escalated_to == AreaLevel.TOWNSHIP
    assert sent(kind=NotificationKind.ESCALATION) == [
        ("reviewer_t1", NotificationKind.ESCALATION, f"breach:{breach.pk}")
    ]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 16:30 UTC on 4 March is 00:30 on 5 March in Shanghai: overdue
        (dt.datetime(2026, 3, 4, 16, 30, tzinfo=UTC), NotificationKind.OVERDUE),
        # 15:59 UTC on 4 March is 23:59 on 4 March in Shanghai: due today
        (dt.datetime(2026, 3, 4, 15, 59, tzinfo=UTC), NotificationKind.DUE_SOON),
        # 16:01 UTC on 2 March is 00:01 on 3 March in Shanghai: 1 day left (2 by the UTC date)
        (dt.datetime(2026, 3, 2, 16, 1, tzinfo=UTC), NotificationKind.DUE_SOON),
        # 15:59 UTC on 2 March is still 2 March in Shanghai: 2 days left
        (dt.datetime(2026, 3, 2, 15, 59, tzinfo=UTC), None),
    ],
)
def test_the_day_is_the_shanghai_day_not_the_utc_day(case, everyone, now, expected):
    deadline_watch(now=now)
    kinds = set(Notification.objects.filter(recipient__username="cadre_v11").values_list("kind", flat=True))
    assert kinds == ({expected} if expected else set())
    assert Breach.objects.exists() is (expected == NotificationKind.OVERDUE)


def test_a_naive_now_is_refused(case):
    with pytest.raises(ValueError, match="naive"):
        deadline_watch(now=dt.datetime(2026, 3, 5, 8))


# ---------------------------------------------------------------------------------------------
# Deadline watch: the identification deadline of a case
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def identifying(areas):
    """A case identifying since 1 March (due 16 March), without steps."""
    hh = hf.household(areas["v11"])
    c = mf.case(hh, status=CaseStatus.IDENTIFYING, found_date=d(3, 1))
    assert c.due_date == d(3, 16) and not c.steps.exists()
    return c


def test_a_case_due_soon_tells_the_county_approvers(identifying, everyone, other_county):
    result = deadline_watch(now=at(d(3, 11)))
    assert result["cases_due_soon"] == 1 and result["cases_overdue"] == 0
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"case-due:{identifying.pk}:2026-03-16")]
    assert not Breach.objects.exists()


def test_a_case_not_yet_due_soon_tells_nobody(identifying, everyone):
    assert deadline_watch(now=at(d(3, 10)))["cases_due_soon"] == 0
    assert not Notification.objects.exists()


def test_an_overdue_case_tells_the_county_approvers_and_is_escalated_once(
    identifying, everyone, other_county
):
    now = at(d(3, 17))
    result = deadline_watch(now=now)
    assert result["cases_overdue"] == 1 and result["breaches"] == 1 and result["escalated"] == 1
    breach = Breach.objects.get()
    assert (breach.kind, breach.step_id, breach.due_date, breach.escalated_to) == (
        "case",
        None,
        d(3, 16),
        AreaLevel.COUNTY,
    )
    assert breach.notified_at == now
    assert sent() == [
        ("approver", NotificationKind.ESCALATION, f"breach:{breach.pk}"),
        ("approver", NotificationKind.OVERDUE, f"case-overdue:{identifying.pk}:2026-03-16"),
    ]
    again = deadline_watch(now=at(d(3, 18)))
    assert again["notifications"] == 0 and again["breaches"] == 0 and again["escalated"] == 0
    assert Notification.objects.count() == 2 and Breach.objects.count() == 1


def test_a_provisional_case_keeps_its_identification_deadline(areas, everyone):
    hh = hf.household(areas["v11"])
    c = mf.case(hh, status=CaseStatus.PROVISIONAL, found_date=d(3, 1), provisional_on=d(3, 1))
    deadline_watch(now=at(d(3, 14)))
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"case-due:{c.pk}:2026-03-16")]


def test_closed_and_monitored_cases_are_not_watched(areas, everyone):
    for status in (CaseStatus.MONITORED, CaseStatus.NOT_INCLUDED, CaseStatus.ELIMINATED):
        mf.case(hf.household(areas["v11"]), status=status, found_date=d(1, 1), identified_on=d(1, 10))
    result = deadline_watch(now=at(d(3, 17)))
    assert result["cases_due_soon"] == result["cases_overdue"] == 0
    assert not Notification.objects.exists()


# ---------------------------------------------------------------------------------------------
# Deadline watch: the exit deadline of a case
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def exiting(areas):
    """A monitored case whose exit started on 1 March and is due on 16 March, without steps."""
    hh = hf.household(areas["v11"])
    c = mf.case(hh, status=CaseStatus.EXIT_IN_PROGRESS, exit_started_on=d(3, 1), exit_due_date=d(3, 16))
    assert c.due_date < d(2, 1) and not c.steps.exists()  # its identification deadline is long past
    return c


def test_an_exit_due_soon_tells_the_county_approvers(exiting, everyone, other_county):
    now = at(d(3, 11))  # 5 days left
    assert case_deadlines(exiting, now=now)["exit"].state is deadlines.State.DUE_SOON
    result = deadline_watch(now=now)
    assert result["exits_due_soon"] == 1 and result["exits_overdue"] == 0
    assert result["cases_due_soon"] == result["cases_overdue"] == 0
    assert result["notifications"] == 1 and result["breaches"] == 0 and result["escalated"] == 0
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"exit-due:{exiting.pk}:2026-03-16")]
    note = Notification.objects.get()
    assert note.url == reverse("monitoring:case_detail", args=[exiting.pk])
    assert note.area_code == exiting.area_code and note.created_at == now
    assert exiting.household.head.name in note.title and "风险消除程序" in note.title
    assert "2026-03-16" in note.title
    assert not Breach.objects.exists()


def test_an_exit_not_yet_due_soon_tells_nobody(exiting, everyone):
    now = at(d(3, 10), 23, 59)  # 6 days left
    assert case_deadlines(exiting, now=now)["exit"].state is deadlines.State.ON_TIME
    assert deadline_watch(now=now)["exits_due_soon"] == 0
    assert not Notification.objects.exists()


def test_an_exit_due_soon_is_told_once(exiting, everyone):
    deadline_watch(now=at(d(3, 11)))
    before = sent()
    for now in (at(d(3, 11)), at(d(3, 12)), at(d(3, 16), 23, 59)):
        again = deadline_watch(now=now)
        assert again["exits_due_soon"] == 1 and again["notifications"] == 0
    assert sent() == before and len(before) == 1
    assert not Breach.objects.exists()


def test_an_overdue_exit_tells_the_county_approvers_and_is_escalated_once(exiting, everyone, other_county):
    now = at(d(3, 17))
    assert case_deadlines(exiting, now=now)["exit"].state is deadlines.State.OVERDUE
    result = deadline_watch(now=now)
    assert result["exits_overdue"] == 1 and result["exits_due_soon"] == 0
    assert result["breaches"] == 1 and result["escalated"] == 1
    breach = Breach.objects.get()
    assert (breach.case_id, breach.kind, breach.step_id, breach.due_date, breach.escalated_to) == (
        exiting.pk,
        "exit",
        None,
        d(3, 16),
        AreaLevel.COUNTY,
    )
    assert breach.notified_at == now
    assert sent() == [
        ("approver", NotificationKind.ESCALATION, f"breach:{breach.pk}"),
        ("approver", NotificationKind.OVERDUE, f"exit-overdue:{exiting.pk}:2026-03-16"),
    ]
    assert "风险消除程序" in Notification.objects.get(kind=NotificationKind.OVERDUE).title
    assert "风险消除程序" in Notification.objects.get(kind=NotificationKind.ESCALATION).title
    before = sent()
    for later in (now, at(d(3, 18)), at(d(4, 1))):
        again = deadline_watch(now=later)
        assert again["exits_overdue"] == 1
        assert again["notifications"] == again["breaches"] == again["escalated"] == 0
    assert sent() == before and Breach.objects.count() == 1


def test_an_exit_told_due_soon_is_told_again_when_overdue(exiting, everyone):
    deadline_watch(now=at(d(3, 12)))
    deadline_watch(now=at(d(3, 17)))
    assert [k for _u, k, _key in sent() if k != NotificationKind.ESCALATION] == [
        NotificationKind.DUE_SOON,
        NotificationKind.OVERDUE,
    ]


def test_the_county_due_soon_days_applies_to_the_exit_deadline(exiting, areas, everyone):
    county_settings(areas["county"], due_soon_days=10)
    assert deadline_watch(now=at(d(3, 5)))["exits_due_soon"] == 0  # 11 days left
    assert deadline_watch(now=at(d(3, 6)))["exits_due_soon"] == 1  # 10 days: not the step rule
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"exit-due:{exiting.pk}:2026-03-16")]


def test_an_exit_in_a_working_day_county_counts_working_days(exiting, areas, everyone):
    county_settings(areas["county"], use_working_days=True)
    now = at(d(3, 9))  # Monday: 5 working days to Monday 16 March, 7 calendar days
    assert case_deadlines(exiting, now=now)["exit"].state is deadlines.State.DUE_SOON
    assert deadline_watch(now=now)["exits_due_soon"] == 1
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"exit-due:{exiting.pk}:2026-03-16")]


@pytest.mark.parametrize("status", [CaseStatus.MONITORED, CaseStatus.ELIMINATED, CaseStatus.SECURED_TRACKING])
def test_an_exit_deadline_of_a_case_no_longer_exiting_is_not_watched(areas, everyone, status):
    mf.case(hf.household(areas["v11"]), status=status, exit_started_on=d(3, 1), exit_due_date=d(3, 16))
    for day in (d(3, 12), d(3, 17)):
        result = deadline_watch(now=at(day))
        assert result["exits_due_soon"] == result["exits_overdue"] == 0
    assert not Notification.objects.filter(key__startswith="exit-").exists()


def test_an_exit_is_watched_only_in_the_area_given(exiting, areas, everyone):
    assert deadline_watch(now=at(d(3, 11)), area_code=areas["t2"].code)["exits_due_soon"] == 0
    assert deadline_watch(now=at(d(3, 11)), area_code=areas["t1"].code)["exits_due_soon"] == 1
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"exit-due:{exiting.pk}:2026-03-16")]


# ---------------------------------------------------------------------------------------------
# Deadline watch: county settings and scope
# ---------------------------------------------------------------------------------------------


def test_a_county_with_its_own_due_soon_days_is_honoured(identifying, areas, everyone, other_county):
    county_settings(areas["county"], due_soon_days=10)
    other = mf.case(hf.household(other_county["village"]), status=CaseStatus.IDENTIFYING, found_date=d(3, 1))
    assert other.due_date == d(3, 16)

    deadline_watch(now=at(d(3, 5)))  # 11 days before 16 March: nobody yet
    assert not Notification.objects.exists()

    deadline_watch(now=at(d(3, 6)))  # 10 days: due soon in Yangyuan, not in the other county (5)
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"case-due:{identifying.pk}:2026-03-16")]

    deadline_watch(now=at(d(3, 11)))  # 5 days: the other county too
    assert sent() == [
        ("approver", NotificationKind.DUE_SOON, f"case-due:{identifying.pk}:2026-03-16"),
        ("approver_other_county", NotificationKind.DUE_SOON, f"case-due:{other.pk}:2026-03-16"),
    ]


@pytest.mark.parametrize(
    ("due_soon_days", "first_told"),
    [
        (None, d(3, 3)),  # the default 5 days: a step only on the day before and on the day
        (10, d(3, 3)),
        (1, d(3, 3)),
        (0, d(3, 4)),  # no warning period: on the day only
    ],
)
def test_a_step_is_due_soon_on_its_last_day_whatever_the_county_due_soon_days(
    case, areas, everyone, due_soon_days, first_told
):
    if due_soon_days is not None:
        county_settings(areas["county"], due_soon_days=due_soon_days)
    hv = step(case, "home_verification")
    for day in (d(2, 21), d(2, 27), d(3, 2), d(3, 3), d(3, 4)):
        now = at(day)
        state = case_deadlines(case, now=now)["steps"][hv.pk].state
        result = deadline_watch(now=now)
        # the same rule as the case page: deadlines.step_due_soon_days
        assert (result["steps_due_soon"] == 1) is (state is deadlines.State.DUE_SOON) is (day >= first_told)
    assert sent() == [("cadre_v11", NotificationKind.DUE_SOON, f"step-due:{hv.pk}:2026-03-04")]
    assert Notification.objects.get().created_at == at(first_told)


def test_the_county_due_soon_days_applies_to_the_case_deadline_too(identifying, areas, everyone):
    county_settings(areas["county"], due_soon_days=1)
    deadline_watch(now=at(d(3, 14)))  # 2 days left
    assert not Notification.objects.exists()
    deadline_watch(now=at(d(3, 15)))
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"case-due:{identifying.pk}:2026-03-16")]


def test_a_working_day_county_is_due_soon_when_the_deadline_function_says_so(identifying, areas, everyone):
    county_settings(areas["county"], use_working_days=True)
    now = at(d(3, 9))  # Monday; the case is due on Monday 16 March: 5 working days, 7 calendar days
    assert case_deadlines(identifying, now=now)["case"].state is deadlines.State.DUE_SOON
    deadline_watch(now=now)
    assert sent() == [("approver", NotificationKind.DUE_SOON, f"case-due:{identifying.pk}:2026-03-16")]


def test_a_calendar_day_county_is_not_due_soon_seven_days_ahead(identifying, everyone):
    now = at(d(3, 9))  # the same day and case as above, without use_working_days: 7 days left
    assert case_deadlines(identifying, now=now)["case"].state is deadlines.State.ON_TIME
    assert deadline_watch(now=now)["cases_due_soon"] == 0
    assert not Notification.objects.exists()


STATE_TOLD = {
    NotificationKind.DUE_SOON: deadlines.State.DUE_SOON,
    NotificationKind.OVERDUE: deadlines.State.OVERDUE,
    None: deadlines.State.ON_TIME,
}


@pytest.mark.parametrize(
    ("working_days", "day", "expected"),
    [
        # due on Monday 9 March: on Friday 1 working day left, 3 calendar days
        (True, d(3, 6), NotificationKind.DUE_SOON),
        (False, d(3, 6), None),
        (True, d(3, 7), NotificationKind.DUE_SOON),  # Saturday: still 1 working day
        (False, d(3, 7), None),
        (False, d(3, 8), NotificationKind.DUE_SOON),
        # late from the day after, in both kinds of county
        (True, d(3, 10), NotificationKind.OVERDUE),
        (False, d(3, 10), NotificationKind.OVERDUE),
    ],
)
def test_a_step_in_a_working_day_county_counts_working_days(
    case, areas, everyone, working_days, day, expected
):
    hv = step(case, "home_verification")
    CaseStep.objects.filter(pk=hv.pk).update(due_date=d(3, 9))
    if working_days:
        county_settings(areas["county"], use_working_days=True)
    now = at(day)
    state = case_deadlines(case, now=now)["steps"][hv.pk].state
    deadline_watch(now=now)
    kinds = set(Notification.objects.filter(recipient__username="cadre_v11").values_list("kind", flat=True))
    assert kinds == ({expected} if expected else set())
    assert state is STATE_TOLD[expected]  # what the case page shows


def test_a_step_due_on_friday_is_late_on_saturday_in_a_working_day_county(case, areas, everyone):
    hv = step(case, "home_verification")
    CaseStep.objects.filter(pk=hv.pk).update(due_date=d(3, 6))
    county_settings(areas["county"], use_working_days=True)
    result = deadline_watch(now=at(d(3, 7)))
    assert result["steps_overdue"] == 1 and result["breaches"] == 1
    assert sent(kind=NotificationKind.OVERDUE) == [
        ("cadre_v11", NotificationKind.OVERDUE, f"step-overdue:{hv.pk}:2026-03-06")
    ]


def test_area_code_limits_the_notifications_to_that_area(case, areas, cadre_v21, everyone):
    case21 = open_case(hf.household(areas["v21"]), cadre_v21, d(3, 1))
    now = at(d(3, 5))
    deadline_watch(now=now, area_code=areas["t1"].code)
    hv = step(case, "home_verification")
    breach = Breach.objects.get(step=hv)
    assert sent() == [
        ("cadre_v11", NotificationKind.OVERDUE, f"step-overdue:{hv.pk}:2026-03-04"),
        ("reviewer_t1", NotificationKind.ESCALATION, f"breach:{breach.pk}"),
    ]
    assert breach.notified_at == now
    # the other township's breach is not announced by a run over the first township ...
    assert not Breach.objects.filter(case=case21, notified_at__isnull=False).exists()

    # ... but by the next run over everything, and nothing is told twice
    later = at(d(3, 5), 12)
    deadline_watch(now=later)
    hv21 = step(case21, "home_verification")
    breach21 = Breach.objects.get(step=hv21)
    assert breach21.notified_at == later
    assert sent(area_code=areas["v21"].code) == [
        ("cadre_v21", NotificationKind.OVERDUE, f"step-overdue:{hv21.pk}:2026-03-04"),
        ("reviewer_t2", NotificationKind.ESCALATION, f"breach:{breach21.pk}"),
    ]
    assert Notification.objects.filter(area_code=areas["v11"].code).count() == 2
    breach.refresh_from_db()
    assert breach.notified_at == now


def test_area_code_of_a_village_leaves_its_neighbour_alone(case, areas, other_cadre, everyone):
    open_case(hf.household(areas["v12"]), other_cadre, d(3, 1))
    deadline_watch(now=at(d(3, 3)), area_code=areas["v11"].code)
    assert {u for u, _k, _key in sent()} == {"cadre_v11"}
    deadline_watch(now=at(d(3, 3)))
    assert {u for u, _k, _key in sent()} == {"cadre_v11", "cadre_v12"}


def test_inactive_users_are_not_told(case, cadre, everyone):
    cadre.is_active = False
    cadre.save(update_fields=["is_active"])
    assert deadline_watch(now=at(d(3, 3)))["steps_due_soon"] == 1
    assert not Notification.objects.exists()


# ---------------------------------------------------------------------------------------------
# Deadline watch: queries
# ---------------------------------------------------------------------------------------------


def _add_cases(n: int, areas, cadres: dict) -> None:
    """``n`` cases alternately in v21 (home verification overdue since 23 Feb) and in v11 (due
    on 4 March, i.e. soon on 3 March)."""
    for i in range(n):
        village = "v11" if i % 2 else "v21"
        hh = hf.household(areas[village])
        open_case(hh, cadres[village], d(3, 1) if i % 2 else d(2, 20))


def _watch_queries(n: int) -> int:
    """Queries of one deadline watch on 3 March over ``n`` cases, all of them new to it."""
    Notification.objects.all().delete()
    Breach.objects.all().delete()
    with CaptureQueriesContext(connection) as ctx:
        result = deadline_watch(now=at(d(3, 3), 12))
    assert result["steps_due_soon"] == n // 2 and result["steps_overdue"] == n // 2
    # the v21 cases are due on 7 March: due soon, but the county has no approver to tell
    assert result["cases_due_soon"] == n // 2
    assert result["breaches"] == result["escalated"] == n // 2
    # due soon: the cadre of v11; overdue: the cadre of v21 and (escalation) the reviewer of t2
    assert Notification.objects.count() == 3 * n // 2
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_number_of_due_steps(areas, cadre, cadre_v21, reviewer_t2):
    cadres = {"v11": cadre, "v21": cadre_v21}
    _add_cases(2, areas, cadres)
    few = _watch_queries(2)
    _add_cases(18, areas, cadres)
    many = _watch_queries(20)
    assert many == few, (few, many)


# ---------------------------------------------------------------------------------------------
# Visit watch
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def visited(areas):
    """A monitored household of v11 with an active helper; its next visit is due on 4 March."""
    hh = hf.household(areas["v11"], registered=d(12, 1, 2025))
    helper_user = af.user(Role.HELPER, username="helper")
    helper = hf.helper(areas["county"], helper_user)
    household_services.helper_assign(actor=None, helper=helper, household=hh, start_date=d(1, 1))
    c = mf.case(hh, identified_on=d(1, 10), next_visit_due=d(3, 4))
    return c


def test_an_overdue_visit_tells_the_helper_and_the_cadre_and_the_township(visited, everyone):
    now = at(d(3, 5))
    result = visit_watch(now=now)
    assert result == {"overdue": 1, "notifications": 2, "escalated": 1}
    breach = Breach.objects.get()
    assert (breach.case_id, breach.kind, breach.step_id, breach.due_date, breach.escalated_to) == (
        visited.pk,
        "visit",
        None,
        d(3, 4),
        AreaLevel.TOWNSHIP,
    )
    assert breach.notified_at == now
    key = f"visit:{visited.pk}:2026-03-04"
    assert sent() == [
        ("cadre_v11", NotificationKind.VISIT_OVERDUE, key),
        ("helper", NotificationKind.VISIT_OVERDUE, key),
        ("reviewer_t1", NotificationKind.ESCALATION, f"breach:{breach.pk}"),
    ]
    note = Notification.objects.get(recipient__username="helper")
    assert note.url == reverse("monitoring:visit_create", args=[visited.household_id])
    assert visited.household.head.name in note.title and visited.household.village.name in note.title


def test_a_visit_due_today_is_not_overdue(visited, everyone):
    assert visit_watch(now=at(d(3, 4), 23, 59)) == {"overdue": 0, "notifications": 0, "escalated": 0}
    assert not Notification.objects.exists() and not Breach.objects.exists()


def test_a_utc_now_that_is_tomorrow_in_shanghai_makes_the_visit_overdue(visited, everyone):
    # 15:59 UTC on 4 March is 23:59 in Shanghai: due today; 16:30 UTC is 00:30 on 5 March
    assert visit_watch(now=dt.datetime(2026, 3, 4, 15, 59, tzinfo=UTC))["overdue"] == 0
    assert visit_watch(now=dt.datetime(2026, 3, 4, 16, 30, tzinfo=UTC))["overdue"] == 1


@pytest.mark.parametrize("status", [CaseStatus.ELIMINATED, CaseStatus.NOT_INCLUDED, CaseStatus.IDENTIFYING])
def test_closed_and_unmonitored_cases_are_ignored(areas, everyone, status):
    hh = hf.household(areas["v11"], registered=d(12, 1, 2025))
    mf.case(hh, status=status, identified_on=d(1, 10), next_visit_due=d(2, 1))
    assert visit_watch(now=at(d(3, 5))) == {"overdue": 0, "notifications": 0, "escalated": 0}
    assert not Notification.objects.exists() and not Breach.objects.exists()


def test_an_overdue_visit_is_told_once(visited, everyone):
    visit_watch(now=at(d(3, 5)))
    before = sent()
    for now in (at(d(3, 5)), at(d(3, 6)), at(d(3, 20))):
        assert visit_watch(now=now) == {"overdue": 1, "notifications": 0, "escalated": 0}
    assert sent() == before
    assert Breach.objects.count() == 1


def test_a_helper_whose_assignment_ended_is_not_told(visited, areas, everyone):
    new_helper = hf.helper(areas["county"], af.user(Role.HELPER, username="helper_new"))
    household_services.helper_assign(
        actor=None, helper=new_helper, household=visited.household, start_date=d(3, 1)
    )
    visit_watch(now=at(d(3, 5)))
    told = {u for u, kind, _key in sent() if kind == NotificationKind.VISIT_OVERDUE}
    assert told == {"cadre_v11", "helper_new"}


def test_the_visit_watch_can_be_limited_to_an_area(visited, areas, everyone):
    hh = hf.household(areas["v21"], registered=d(12, 1, 2025))
    other = mf.case(hh, identified_on=d(1, 10), next_visit_due=d(3, 1))
    assert visit_watch(now=at(d(3, 5)), area_code=areas["t2"].code)["overdue"] == 1
    assert {u for u, _k, _key in sent()} == {"cadre_v21", "reviewer_t2"}
    assert Breach.objects.get().case == other


# ---------------------------------------------------------------------------------------------
# Measure watch
# ---------------------------------------------------------------------------------------------

TODAY = d(3, 20)


def _identified(areas, days_ago: int, *, village="v11", status=CaseStatus.MONITORED):
    hh = hf.household(areas[village], registered=d(12, 1, 2025))
    return mf.case(hh, status=status, identified_on=TODAY - dt.timedelta(days=days_ago))


def _measure(case, status):
    return AssistanceMeasure.objects.create(case=case, measure=mf.measure("M0101"), status=status)


def test_a_case_identified_31_days_ago_without_measures_is_flagged(areas, everyone):
    c = _identified(areas, 31)
    now = at(TODAY)
    result = measure_watch(now=now)
    assert result == {"without_measures": 1, "notifications": 1, "escalated": 1}
    breach = Breach.objects.get()
    assert (breach.case_id, breach.kind, breach.step_id, breach.due_date, breach.escalated_to) == (
        c.pk,
        "measure",
        None,
        c.identified_on + dt.timedelta(days=30),
        AreaLevel.TOWNSHIP,
    )
    assert breach.due_date == d(3, 19)
    assert breach.notified_at == now
    assert sent() == [
        ("cadre_v11", NotificationKind.MEASURE_MISSING, f"measure:{c.pk}:2026-03-19"),
        ("reviewer_t1", NotificationKind.ESCALATION, f"breach:{breach.pk}"),
    ]
    assert Notification.objects.get(kind=NotificationKind.MEASURE_MISSING).url == reverse(
        "monitoring:case_plan", args=[c.pk]
    )


@pytest.mark.parametrize(
    ("statuses", "flagged"),
    [
        ([MeasureStatus.PLANNED], True),
        ([MeasureStatus.STOPPED], True),
        ([MeasureStatus.PLANNED, MeasureStatus.STOPPED], True),
        ([MeasureStatus.IN_PROGRESS], False),
        ([MeasureStatus.IMPLEMENTED], False),
        ([MeasureStatus.PLANNED, MeasureStatus.IMPLEMENTED], False),
    ],
)
def test_only_a_measure_in_place_counts(areas, everyone, statuses, flagged):
    c = _identified(areas, 31)
    for status in statuses:
        _measure(c, status)
    result = measure_watch(now=at(TODAY))
    assert result["without_measures"] == int(flagged)
    assert Breach.objects.filter(case=c, kind="measure").exists() is flagged
    assert Notification.objects.filter(kind=NotificationKind.MEASURE_MISSING).exists() is flagged


def test_a_case_identified_exactly_30_days_ago_is_not_flagged_yet(areas, everyone):
    _identified(areas, 30)
    assert measure_watch(now=at(TODAY, 23, 59)) == {"without_measures": 0, "notifications": 0, "escalated": 0}
    assert not Breach.objects.exists()
    # the Shanghai day after, even when it is still the same day in UTC
    assert measure_watch(now=dt.datetime(2026, 3, 20, 16, 1, tzinfo=UTC))["without_measures"] == 1


def test_a_missing_measure_is_flagged_once(areas, everyone):
    _identified(areas, 31)
    measure_watch(now=at(TODAY))
    before = sent()
    for now in (at(TODAY), at(TODAY + dt.timedelta(days=1)), at(TODAY + dt.timedelta(days=30))):
        assert measure_watch(now=now) == {"without_measures": 1, "notifications": 0, "escalated": 0}
    assert sent() == before and Breach.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "flagged"),
    [
        (CaseStatus.SECURED_TRACKING, True),
        (CaseStatus.ELIMINATED, False),
        (CaseStatus.NOT_INCLUDED, False),
    ],
)
def test_only_monitored_cases_need_measures(areas, everyone, status, flagged):
    _identified(areas, 60, status=status)
    assert measure_watch(now=at(TODAY))["without_measures"] == int(flagged)


def test_the_county_measure_deadline_is_honoured(areas, everyone, other_county):
    county_settings(areas["county"], measure_deadline_days=10)
    ours = _identified(areas, 11)
    hh = hf.household(other_county["village"], registered=d(12, 1, 2025))
    mf.case(hh, identified_on=TODAY - dt.timedelta(days=11))  # default 30 days: not yet
    assert measure_watch(now=at(TODAY))["without_measures"] == 1
    assert Breach.objects.get().case == ours
    assert Breach.objects.get().due_date == ours.identified_on + dt.timedelta(days=10)


def test_the_measure_watch_can_be_limited_to_an_area(areas, everyone):
    _identified(areas, 31, village="v11")
    other = _identified(areas, 31, village="v21")
    assert measure_watch(now=at(TODAY), area_code=areas["v21"].code)["without_measures"] == 1
    assert Breach.objects.get().case == other
    assert {u for u, _k, _key in sent()} == {"cadre_v21", "reviewer_t2"}


# ---------------------------------------------------------------------------------------------
# Emails
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def now_real():
    """Emails are sent by a task that looks at the real clock (notifications older than two
    days are not emailed), so these tests run at the real time."""
    return timezone.now()


@pytest.fixture
def overdue_now(areas, cadre, township_reviewer, county_approver, now_real):
    """A case whose home verification was due a week ago; the cadre and the township reviewer
    have email addresses, the county approver (told about the case deadline) has none."""
    today = deadlines.local_date(now_real)
    cadre.email = "cadre@example.org"
    cadre.save(update_fields=["email"])
    township_reviewer.email = "reviewer@example.org"
    township_reviewer.save(update_fields=["email"])
    hh = hf.household(areas["v11"], actor=cadre)
    open_case(hh, cadre, today - dt.timedelta(days=10))
    return now_real


def test_each_recipient_with_an_email_gets_one_digest_after_commit(
    overdue_now, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deadline_watch(now=overdue_now)
        assert mailoutbox == []  # nothing before the commit
    assert sorted(m.to[0] for m in mailoutbox) == ["cadre@example.org", "reviewer@example.org"]
    assert all(len(m.to) == 1 for m in mailoutbox)
    by_to = {m.to[0]: m for m in mailoutbox}
    cadre_note = Notification.objects.get(recipient__username="cadre_v11")
    assert cadre_note.title in by_to["cadre@example.org"].body
    reviewer_note = Notification.objects.get(recipient__username="reviewer_t1")
    assert reviewer_note.title in by_to["reviewer@example.org"].body
    assert cadre_note.emailed_at is not None and reviewer_note.emailed_at is not None
    # the county approver has no address: told in the app only
    approver_note = Notification.objects.get(recipient__username="approver")
    assert approver_note.kind == NotificationKind.DUE_SOON and approver_note.emailed_at is None

    assert notifications_email() == 0
    assert notifications_email(now=overdue_now + dt.timedelta(hours=1)) == 0
    assert len(mailoutbox) == 2


def test_several_notifications_make_one_email(
    overdue_now, areas, cadre, mailoutbox, django_capture_on_commit_callbacks
):
    hh = hf.household(areas["v11"], actor=cadre)
    open_case(hh, cadre, deadlines.local_date(overdue_now) - dt.timedelta(days=9))
    with django_capture_on_commit_callbacks(execute=True):
        deadline_watch(now=overdue_now)
    assert Notification.objects.filter(recipient=cadre).count() == 2
    to_cadre = [m for m in mailoutbox if m.to == ["cadre@example.org"]]
    assert len(to_cadre) == 1
    for note in Notification.objects.filter(recipient=cadre):
        assert note.title in to_cadre[0].body


def test_a_second_watch_sends_no_new_email(overdue_now, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        deadline_watch(now=overdue_now)
    assert len(mailoutbox) == 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deadline_watch(now=overdue_now + dt.timedelta(minutes=5))
    assert callbacks == []  # nothing new, nothing queued
    assert len(mailoutbox) == 2


def test_no_email_when_notification_email_is_off(
    overdue_now, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_EMAIL = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deadline_watch(now=overdue_now)
    assert callbacks == []
    assert mailoutbox == []
    assert Notification.objects.filter(recipient__username="cadre_v11").exists()
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()


def test_a_rolled_back_watch_sends_nothing(overdue_now, mailoutbox, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        deadline_watch(now=overdue_now)
        assert Notification.objects.exists()
        raise RuntimeError("the run failed")
    assert callbacks == []
    assert mailoutbox == []
    assert not Notification.objects.exists()
    assert not Breach.objects.exists()


def test_notifications_older_than_two_days_are_not_emailed(overdue_now, mailoutbox):
    deadline_watch(now=overdue_now)
    assert notifications_email(now=overdue_now + dt.timedelta(days=3)) == 0
    assert mailoutbox == []
    assert notifications_email(now=overdue_now + dt.timedelta(hours=1)) == 2
    assert len(mailoutbox) == 2


# ---------------------------------------------------------------------------------------------
# Upgrade: breaches recorded before the watch existed
# ---------------------------------------------------------------------------------------------


def _run_breach_migration() -> None:
    """Run the data step of monitoring 0005 on the current rows, with the models as that
    migration sees them (the schema is already there: only its RunPython is run)."""
    from django.db.migrations.loader import MigrationLoader

    node = ("monitoring", "0005_review_rules_and_schedules")
    loader = MigrationLoader(connection)
    state = loader.project_state(node, at_end=False)
    (operation,) = loader.get_migration(*node).operations
    operation.code(state.apps, None)


def test_breaches_recorded_before_the_upgrade_are_not_escalated(case, areas, cadre, everyone):
    hv = step(case, "home_verification")
    assert breaches_record(now=at(d(3, 5))) == {"steps": 1, "cases": 0, "exits": 0}
    old = Breach.objects.get()
    assert old.notified_at is None
    _run_breach_migration()
    old.refresh_from_db()
    assert old.notified_at == old.recorded_at
    _run_breach_migration()  # a second run changes nothing
    assert Breach.objects.get().notified_at == old.notified_at

    # a case opened after the upgrade: its home verification is late on 6 March too
    later = open_case(hf.household(areas["v11"]), cadre, d(3, 2))
    later_hv = step(later, "home_verification")
    assert later_hv.due_date == d(3, 5)

    now = at(d(3, 6))
    result = deadline_watch(now=now)
    assert result["steps_overdue"] == 2 and result["breaches"] == 1 and result["escalated"] == 1
    new = Breach.objects.get(step=later_hv)
    assert new.notified_at == now
    old.refresh_from_db()
    assert old.notified_at == old.recorded_at  # not escalated now
    # both steps are still late, so the cadre is told of both; only the new breach is escalated
    assert sent() == sorted(
        [
            ("cadre_v11", NotificationKind.OVERDUE, f"step-overdue:{hv.pk}:2026-03-04"),
            ("cadre_v11", NotificationKind.OVERDUE, f"step-overdue:{later_hv.pk}:2026-03-05"),
            ("reviewer_t1", NotificationKind.ESCALATION, f"breach:{new.pk}"),
        ]
    )
