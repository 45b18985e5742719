"""The small things on the case page and its notice: no internal version number, no
"识别中 → 识别中" status change, risk names instead of codes, and a notice whose wording follows
how the household came to notice and whose title and body agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import override

from monitoring.models import CaseStatus, Channel, Clue, ClueStatus, StatusChange
from monitoring.rules import deadlines
from monitoring.services import cases
from tests.monitoring import factories as mf
from tests.monitoring.helpers import at, open_case, step, step_data

TODAY = deadlines.local_date(timezone.now())


def _page(client, user, case) -> str:
    client.force_login(user)
    response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_case_page_hides_the_internal_version_but_keeps_it_for_the_conflict_check(
    client, cadre, household
):
    case = open_case(household, cadre, TODAY - dt.timedelta(days=1))
    content = _page(client, cadre, case)
    assert f"版本{case.version}" not in content
    assert "版本" not in content
    assert f'name="expected_version" value="{case.version}"' in content  # the forms still send it


def test_a_status_change_that_changes_nothing_is_shown_as_an_event(client, cadre, household):
    case = open_case(household, cadre, TODAY - dt.timedelta(days=1))
    identifying = CaseStatus.IDENTIFYING
    same = StatusChange.objects.filter(
        case=case, object_type="case", from_status=identifying, to_status=identifying
    )
    assert same.exists(), "opening a case logs the procedure's start without a change of status"
    content = _page(client, cadre, case)
    assert "识别中 → 识别中" not in content
    assert "开始识别程序" in content  # the event itself is still in the history
    assert "→ 识别中" in content  # a real change keeps its arrow


def test_home_verification_shows_the_risk_names_not_their_codes(client, cadre, household):
    day = TODAY - dt.timedelta(days=1)
    case = open_case(household, cadre, day, risk_type_codes=("01",))
    home = step(case, "home_verification")
    data = {**step_data(home, day), "risk_type_codes": ["01", "07"]}
    cases.step_complete(actor=cadre, step=home, data=data, now=at(day, 15))
    content = _page(client, cadre, case)
    assert "因病" in content
    section = content[content.index("风险类型</dt>") :][:200]
    assert "01" not in section
    assert "因病" in section


def _case_with_clues(household, channels):
    case = mf.case(household, status=CaseStatus.IDENTIFYING)
    for i, channel in enumerate(channels):
        Clue.objects.create(
            channel=channel,
            found_date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            household=household,
            area_code=household.area_code,
            case=case,
            status=ClueStatus.CASE_OPENED,
        )
    return case


@pytest.mark.parametrize(
    ("channels", "wording"),
    [
        ([Channel.SELF_REPORT], "经农户申请、入户核查和村民主评议"),
        ([Channel.CADRE_SCREENING], "经排查发现、入户核查和村民主评议"),
        ([Channel.DEPARTMENT_ALERT], "经部门预警、入户核查和村民主评议"),
        ([Channel.SYSTEM], "经系统预警、入户核查和村民主评议"),
        ([Channel.SYSTEM, Channel.SELF_REPORT, Channel.SYSTEM], "经系统预警、农户申请、入户核查和村民主评议"),
        ([], "经入户核查和村民主评议"),
    ],
    ids=["self_report", "screening", "department", "system", "two_channels", "no_clue"],
)
def test_the_notice_says_how_the_household_came_to_notice(household, channels, wording):
    case = _case_with_clues(household, channels)
    with override("zh-hans"):
        title, body = cases.notice_text(case, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 5), exit_=False)
    assert body.startswith(wording + "，")
    assert "（或排查发现）" not in body


def test_the_notice_title_and_body_propose_the_same_thing(household):
    case = _case_with_clues(household, [Channel.SELF_REPORT])
    start, end = dt.date(2026, 2, 1), dt.date(2026, 2, 5)
    with override("zh-hans"):
        title, body = cases.notice_text(case, start=start, end=end, exit_=False)
        assert title.endswith("拟纳入防止返贫致贫监测对象公示")
        assert "拟纳入防止返贫致贫监测对象。" in body
        title, body = cases.notice_text(case, start=start, end=end, exit_=True)
        assert title.endswith("拟标注风险消除对象公示")
        assert "拟标注风险消除（" in body
        assert body.startswith("经入户核查和村民主评议，")  # an exit does not come from a clue


def test_the_notice_reads_as_english(household):
    case = _case_with_clues(household, [Channel.SELF_REPORT, Channel.CADRE_SCREENING])
    with override("en"):
        title, body = cases.notice_text(case, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 5), exit_=False)
    assert body.startswith(
        "Following the household's application, screening by village cadres, home verification and "
        "the village democratic review,"
    )
    assert "inclusion in monitoring" in title and "inclusion in monitoring" in body
    for mark in "：（），、。":
        assert mark not in body.replace(household.village.name, "").replace(household.village.parent.name, "")
