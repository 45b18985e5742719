"""The workflow's web pages with the test client: clues, triage, the case list and page with
every action, the printable notice, the plan editor and the exit page.

The pages run on the real clock, so the dates here are relative to today (Asia/Shanghai); the
earlier steps of a case are prepared through the services with ``now=`` some days back.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Department, Role
from households.models import Household
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    Channel,
    Clue,
    ClueStatus,
    MeasureStatus,
    MonitoringCase,
    Objection,
    ObjectionStatus,
    PublicNotice,
    StatusChange,
    StepStatus,
)
from monitoring.rules import deadlines
from monitoring.services import assistance, cases, clues
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import at, run_procedure, step, step_data

TODAY = deadlines.local_date(timezone.now())


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@pytest.fixture
def other_household(areas):
    """A household of another village (v21, another township)."""
    return hf.household(areas["v21"], labour=("normal",))


@pytest.fixture
def client_for(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def open_case(household, actor, *, found: dt.date | None = None, risks=("01",)) -> MonitoringCase:
    found = found or ago(1)
    clue = clues.clue_create(
        actor=actor,
        channel=Channel.SELF_REPORT,
        found_date=found,
        risk_type_codes=list(risks),
        household=household,
        now=at(found),
    )
    return clue.case


def case_at_approval(household, actors, *, risks=("07",)) -> MonitoringCase:
    """A case whose every step but the county approval is done (the notice has run its days)."""
    case = open_case(household, actors.cadre, found=ago(15), risks=risks)
    run_procedure(case, actors, ago(14), until="county_approval")
    case.refresh_from_db()
    assert step(case, "county_approval").status == StepStatus.AVAILABLE
    return case


def identified_case(household, actors, *, risks=("07",)) -> MonitoringCase:
    case = case_at_approval(household, actors, risks=risks)
    cases.step_complete(
        actor=actors.county_approver,
        step=step(case, "county_approval"),
        data={"category": "marginal", "opinion": "同意"},
        now=at(ago(1)),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    return case


def act(client, case, **fields):
    data = {"expected_version": MonitoringCase.objects.get(pk=case.pk).version, **fields}
    return client.post(f"/cases/{case.pk}/act/", data)


def body(response) -> str:
    return response.content.decode()


# --- a household's clue -------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client, household):
    response = client.get(f"/households/{household.pk}/clue/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_cadre_records_a_self_report_and_lands_on_the_new_case(client_for, cadre, household):
    client = client_for(cadre)
    page = client.get(f"/households/{household.pk}/clue/")
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in body(page)
    response = client.post(
        f"/households/{household.pk}/clue/",
        {
            "token": "t-1",
            "channel": Channel.SELF_REPORT,
            "found_date": ago(2).isoformat(),
            "risk_type_codes": ["01", "07"],
            "description": "户主住院，自付医疗费用高",
        },
    )
    case = MonitoringCase.objects.get(household=household)
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.status == CaseStatus.IDENTIFYING
    assert sorted(case.risk_types.values_list("code", flat=True)) == ["01", "07"]
    clue = Clue.objects.get(household=household)
    assert (clue.status, clue.reported_by, clue.description) == (
        ClueStatus.CASE_OPENED,
        cadre,
        "户主住院，自付医疗费用高",
    )
    page = client.get(response["Location"])
    assert "启动识别程序" in body(page)  # the message
    assert "入户核查核实" in body(page)  # the first step, open for the cadre


def test_a_refused_clue_keeps_what_was_typed_and_says_why_next_to_the_field(client_for, cadre, household):
    response = client_for(cadre).post(
        f"/households/{household.pk}/clue/",
        {
            "token": "t-2",
            "channel": Channel.SELF_REPORT,
            "found_date": (TODAY + dt.timedelta(days=3)).isoformat(),
            "description": "家中房屋受损",
        },
    )
    assert response.status_code == 200
    html = body(response)
    assert "发现风险日期不能晚于今天" in html
    assert "家中房屋受损" in html  # nothing typed is lost
    form = response.context["form"]
    assert "found_date" in form.errors
    assert Clue.objects.count() == 0


def test_too_many_risk_types_are_refused_by_the_service(client_for, cadre, household):
    response = client_for(cadre).post(
        f"/households/{household.pk}/clue/",
        {
            "token": "t-3",
            "channel": Channel.SELF_REPORT,
            "found_date": ago(1).isoformat(),
            "risk_type_codes": ["01", "03", "04", "06", "07", "09"],
        },
    )
    assert response.status_code == 200
    assert "风险类型最多5种" in response.context["form"].errors["risk_type_codes"][0]
    assert Clue.objects.count() == 0


def test_double_submit_of_a_clue_records_it_once(client_for, cadre, household):
    client = client_for(cadre)
    data = {
        "token": "same-token",
        "channel": Channel.CADRE_SCREENING,
        "found_date": ago(1).isoformat(),
        "risk_type_codes": ["07"],
    }
    first = client.post(f"/households/{household.pk}/clue/", data)
    second = client.post(f"/households/{household.pk}/clue/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Clue.objects.count() == 1
    assert MonitoringCase.objects.count() == 1


def test_a_cadre_cannot_report_for_a_household_of_another_village(client_for, cadre, other_household):
    client = client_for(cadre)
    assert client.get(f"/households/{other_household.pk}/clue/").status_code == 404
    response = client.post(
        f"/households/{other_household.pk}/clue/",
        {"token": "x", "channel": "self_report", "found_date": ago(1).isoformat(), "risk_type_codes": ["01"]},
    )
    assert response.status_code == 404
    assert Clue.objects.count() == 0


def test_a_second_report_joins_the_open_case(client_for, cadre, household, actors):
    case = open_case(household, cadre)
    response = client_for(cadre).post(
        f"/households/{household.pk}/clue/",
        {
            "token": "t-4",
            "channel": "cadre_screening",
            "found_date": ago(1).isoformat(),
            "risk_type_codes": ["07"],
        },
    )
    assert response["Location"] == f"/cases/{case.pk}/"
    assert Clue.objects.filter(case=case, status=ClueStatus.ATTACHED).count() == 1


# --- the case list ----------------------------------------------------------------------------------


def _cases(village, cadre, n: int) -> list[MonitoringCase]:
    return [open_case(hf.household(village, labour=("normal",)), cadre) for _ in range(n)]


@pytest.mark.parametrize("queue", ["mine", "all"])
def test_case_list_makes_the_same_number_of_queries_for_5_and_30_cases(client_for, areas, cadre, queue):
    client = client_for(cadre)
    _cases(areas["v11"], cadre, 5)
    client.get("/cases/")  # warm the session and the settings' first read
    with CaptureQueriesContext(connection) as five:
        response = client.get(f"/cases/?queue={queue}")
    assert len(response.context["page"].object_list) == 5
    _cases(areas["v11"], cadre, 25)
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(f"/cases/?queue={queue}")
    assert response.context["page"].paginator.count == 30
    assert len(response.context["page"].object_list) == 25  # paginated
    assert len(thirty) == len(five), [q["sql"] for q in thirty.captured_queries]
    assert len(five) <= 12


def test_case_list_shows_only_my_area_and_my_queue(
    client_for, areas, cadre, actors, household, other_household
):
    mine = open_case(household, cadre)
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v21"])
    theirs = open_case(other_household, other_cadre)
    client = client_for(cadre)
    listed = [c.pk for c in client.get("/cases/?queue=all").context["page"].object_list]
    assert listed == [mine.pk]
    assert theirs.pk not in listed
    # township reviewer: nothing is waiting on them until home verification is done
    township = client_for(actors.township_reviewer)
    assert list(township.get("/cases/?queue=mine").context["page"].object_list) == []
    cases.step_complete(
        actor=cadre,
        step=step(mine, "home_verification"),
        data=step_data(step(mine, "home_verification"), TODAY),
    )
    page = township.get("/cases/?queue=township")
    assert [c.pk for c in page.context["page"].object_list] == [mine.pk]
    assert "乡镇核查初审" in body(page)


def test_case_list_filters(client_for, areas, cadre, county_approver):
    first, second = _cases(areas["v11"], cadre, 2)
    client = client_for(county_approver)
    found = client.get(f"/cases/?queue=all&search={second.household.number}").context["page"].object_list
    assert [c.pk for c in found] == [second.pk]
    assert client.get("/cases/?queue=all&status=monitored").context["page"].paginator.count == 0
    approval = client.get("/cases/?queue=approval")
    assert approval.status_code == 200
    assert approval.context["page"].paginator.count == 0


# --- the case page --------------------------------------------------------------------------------------


def test_case_page_shows_household_clues_steps_deadlines_and_actions(client_for, cadre, household):
    case = open_case(household, cadre, found=ago(3))
    response = client_for(cadre).get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    html = body(response)
    assert household.head.name in html
    assert "农户自主申报" in html  # the clue
    assert "入户核查核实" in html  # the steps
    assert "县级审定" in html
    assert "启动识别" in html  # the history
    assert f'name="expected_version" value="{case.version}"' in html
    # allowed: home verification's form; not allowed: the county's steps, with their reason
    actions = {(a["action"], a["step_name"]): a for a in response.context["step_actions"]}
    home = actions[("complete", step(case, "home_verification").name)]
    assert home["allowed"] and home["form"] is not None
    approval = actions[("complete", "县级审定")]
    assert not approval["allowed"]
    assert approval["reason"] in html
    # the cadre sees the ID number in full (their work needs it); the phone too
    assert household.head.id_number in html
    assert "13912345678" in html


def test_roles_that_do_not_need_it_see_the_id_number_masked(client_for, areas, household, cadre):
    case = open_case(household, cadre)
    helper_user = af.user(Role.HELPER, areas["v11"])
    html = body(client_for(helper_user).get(f"/cases/{case.pk}/"))
    assert household.head.id_number not in html
    assert household.head.id_number_masked in html
    assert "13912345678" not in html


@pytest.mark.parametrize("suffix", ["", "notice/", "plan/", "exit/"])
def test_a_cadre_gets_404_for_another_villages_case(client_for, areas, cadre, other_household, suffix):
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v21"])
    case = open_case(other_household, other_cadre)
    client = client_for(cadre)
    assert client.get(f"/cases/{case.pk}/{suffix}").status_code == 404
    assert client.post(f"/cases/{case.pk}/{suffix}", {"token": "x"}).status_code == 404


def test_a_cadre_cannot_act_on_another_villages_case(client_for, areas, cadre, other_household):
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v21"])
    case = open_case(other_household, other_cadre)
    s = step(case, "home_verification")
    response = act(client_for(cadre), case, token="x", action="complete", step=s.pk, findings="x")
    assert response.status_code == 404
    s.refresh_from_db()
    assert s.status == StepStatus.AVAILABLE


def test_cadre_completes_home_verification(client_for, cadre, household):
    case = open_case(household, cadre)
    s = step(case, "home_verification")
    response = act(
        client_for(cadre),
        case,
        token="hv-1",
        action="complete",
        step=s.pk,
        visited_on=TODAY.isoformat(),
        visitors="张三，李四",
        authorization_signed="on",
        findings="家中有病人，医疗支出大",
        risk_type_codes=["01", "03"],
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    s.refresh_from_db()
    assert s.status == StepStatus.DONE
    assert s.data["visitors"] == ["张三", "李四"]
    assert s.completed_by == cadre
    assert sorted(case.risk_types.values_list("code", flat=True)) == ["01", "03"]
    page = client_for(cadre).get(response["Location"])
    assert "已办结" in body(page)
    assert "张三、李四" in body(page)


def test_home_verification_without_authorization_is_refused_next_to_the_field(client_for, cadre, household):
    case = open_case(household, cadre)
    s = step(case, "home_verification")
    response = act(
        client_for(cadre),
        case,
        token="hv-2",
        action="complete",
        step=s.pk,
        visited_on=TODAY.isoformat(),
        visitors="张三",
        findings="核查情况记录一二三",
    )
    assert response.status_code == 200
    form = response.context["step_actions"][0]["form"]
    assert "须有农户签字的承诺授权书" in form.errors["authorization_signed"][0]
    html = body(response)
    assert "核查情况记录一二三" in html  # kept
    assert response.context["open_key"] == f"complete-s{s.pk}"
    s.refresh_from_db()
    assert s.status == StepStatus.AVAILABLE


def test_a_stale_page_gets_the_conflict_message(client_for, cadre, household):
    case = open_case(household, cadre)
    s = step(case, "home_verification")
    stale = case.version
    clues.clue_create(  # someone else adds a clue meanwhile: the case's version moves on
        actor=cadre, channel="cadre_screening", found_date=ago(1), risk_type_codes=["07"], household=household
    )
    response = client_for(cadre).post(
        f"/cases/{case.pk}/act/",
        {
            "token": "hv-3",
            "action": "complete",
            "step": s.pk,
            "expected_version": stale,
            "visited_on": TODAY.isoformat(),
            "visitors": "张三",
            "authorization_signed": "on",
            "findings": "已核实",
        },
    )
    assert response.status_code == 409
    html = body(response)
    assert "该案件刚被他人更新" in html
    assert "已核实" in html  # kept
    current = MonitoringCase.objects.get(pk=case.pk).version
    assert f'name="expected_version" value="{current}"' in html
    s.refresh_from_db()
    assert s.status == StepStatus.AVAILABLE


def test_double_submit_of_a_step_completes_it_once(client_for, cadre, household):
    case = open_case(household, cadre)
    s = step(case, "home_verification")
    client = client_for(cadre)
    fields = {
        "token": "hv-once",
        "action": "complete",
        "step": s.pk,
        "expected_version": case.version,
        "visited_on": TODAY.isoformat(),
        "visitors": "张三",
        "authorization_signed": "on",
        "findings": "已核实",
    }
    first = client.post(f"/cases/{case.pk}/act/", fields)
    second = client.post(f"/cases/{case.pk}/act/", fields)
    assert first.status_code == second.status_code == 302
    assert StatusChange.objects.filter(object_type="step", object_id=s.pk, action="complete").count() == 1


def test_a_step_of_another_case_is_not_found(client_for, cadre, household, areas):
    case = open_case(household, cadre)
    other = open_case(hf.household(areas["v11"]), cadre)
    response = act(
        client_for(cadre), case, token="z", action="complete", step=step(other, "home_verification").pk
    )
    assert response.status_code == 404


def test_township_reviewer_returns_and_approves(client_for, actors, household, areas):
    first = open_case(household, actors.cadre, found=ago(2))
    second = open_case(hf.household(areas["v11"]), actors.cadre, found=ago(2))
    for case in (first, second):
        s = step(case, "home_verification")
        cases.step_complete(actor=actors.cadre, step=s, data=step_data(s, ago(1)), now=at(ago(1)))
    client = client_for(actors.township_reviewer)

    # a return needs a reason
    t1 = step(first, "township_review")
    refused = act(client, first, token="r-0", action="return", step=t1.pk, reason="")
    assert refused.status_code == 200
    assert "请填写原因" in body(refused)
    returned = act(client, first, token="r-1", action="return", step=t1.pk, reason="核查材料不全，请补充")
    assert returned.status_code == 302
    t1.refresh_from_db()
    assert t1.status == StepStatus.WAITING
    assert step(first, "home_verification").status == StepStatus.AVAILABLE
    assert "核查材料不全，请补充" in body(client.get(f"/cases/{first.pk}/"))

    t2 = step(second, "township_review")
    approved = act(client, second, token="r-2", action="complete", step=t2.pk, opinion="同意，报县级比对")
    assert approved.status_code == 302
    t2.refresh_from_db()
    assert (t2.status, t2.data["opinion"], t2.completed_by) == (
        StepStatus.DONE,
        "同意，报县级比对",
        actors.township_reviewer,
    )


def test_township_reviewer_rejects_with_a_reason(client_for, actors, household):
    case = open_case(household, actors.cadre, found=ago(2))
    s = step(case, "home_verification")
    cases.step_complete(actor=actors.cadre, step=s, data=step_data(s, ago(1)), now=at(ago(1)))
    t = step(case, "township_review")
    response = act(
        client_for(actors.township_reviewer),
        case,
        token="rj",
        action="reject",
        step=t.pk,
        reason="家庭有商品房和车辆",
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.NOT_INCLUDED
    assert "家庭有商品房和车辆" in case.decision_reason


def test_a_cadre_is_refused_the_township_step(client_for, actors, household):
    case = open_case(household, actors.cadre, found=ago(2))
    s = step(case, "home_verification")
    cases.step_complete(actor=actors.cadre, step=s, data=step_data(s, ago(1)), now=at(ago(1)))
    t = step(case, "township_review")
    response = act(client_for(actors.cadre), case, token="no", action="complete", step=t.pk, opinion="同意")
    assert response.status_code == 403
    assert response.context["unplaced_errors"] == ["此步骤由乡镇审核人员办理。"]
    t.refresh_from_db()
    assert t.status == StepStatus.AVAILABLE


def test_village_review_notice_and_objection_through_the_page(client_for, actors, household):
    case = open_case(household, actors.cadre, found=ago(10))
    s = step(case, "home_verification")
    cases.step_complete(actor=actors.cadre, step=s, data=step_data(s, ago(9)), now=at(ago(9)))
    client = client_for(actors.cadre)
    review = step(case, "village_review")
    bad = act(
        client,
        case,
        token="vr-0",
        action="complete",
        step=review.pk,
        held_on=TODAY.isoformat(),
        attendees="5",
        votes_for="5",
        votes_against="2",
        votes_abstain="0",
        minutes="评议",
    )
    assert "表决票数之和不能超过参会人数" in body(bad)
    ok = act(
        client,
        case,
        token="vr-1",
        action="complete",
        step=review.pk,
        held_on=TODAY.isoformat(),
        attendees="9",
        votes_for="8",
        votes_against="1",
        votes_abstain="0",
        minutes="评议通过",
    )
    assert ok.status_code == 302
    notice_step = step(case, "village_notice")
    posted = act(
        client, case, token="vn-1", action="post_notice", step=notice_step.pk, start_date=TODAY.isoformat()
    )
    assert posted.status_code == 302
    notice = PublicNotice.objects.get(step=notice_step)
    # closing the notice before it has run: disabled with the reason
    page = client.get(f"/cases/{case.pk}/")
    closing = next(
        a for a in page.context["step_actions"] if a["step"] == notice_step.pk and a["action"] == "complete"
    )
    assert not closing["allowed"] and "公示期未满" in closing["reason"]
    raised = act(
        client,
        case,
        token="ob-1",
        action="record_objection",
        notice=notice.pk,
        raised_on=TODAY.isoformat(),
        raised_by="村民甲",
        content="该户有经营性收入",
    )
    assert raised.status_code == 302
    objection = Objection.objects.get(case=case)
    resolved = act(
        client,
        case,
        token="ob-2",
        action="resolve_objection",
        objection=objection.pk,
        upheld="0",
        finding="经核实收入为临时性，异议不成立",
    )
    assert resolved.status_code == 302
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED
    html = body(client.get(f"/cases/{case.pk}/"))
    assert "该户有经营性收入" in html and "异议不成立" in html


# --- the printable notice ----------------------------------------------------------------------------------


def test_printed_notice_has_no_id_phone_bank_or_health_data(client_for, actors, household):
    case = case_at_approval(household, actors)
    response = client_for(actors.cadre).get(f"/cases/{case.pk}/notice/")
    assert response.status_code == 200
    html = body(response)
    assert "拟纳入防止返贫致贫监测对象公示" in html
    assert household.head.name in html
    for member in household.members.all():
        assert member.id_number not in html
        assert member.id_number_masked not in html
    assert "13912345678" not in html and "139****5678" not in html
    assert "@media print" in html


def test_notice_page_without_a_notice_is_404(client_for, cadre, household):
    case = open_case(household, cadre)
    assert client_for(cadre).get(f"/cases/{case.pk}/notice/").status_code == 404


# --- the county approval -------------------------------------------------------------------------------------


def test_county_approver_completes_the_identification(client_for, actors, household):
    case = case_at_approval(household, actors)
    client = client_for(actors.county_approver)
    a = step(case, "county_approval")
    refused = act(
        client, case, token="ca-0", action="complete", step=a.pk, explanation="", opinion="同意纳入"
    )
    assert "请选择监测对象类别" in body(refused)
    assert "同意纳入" in body(refused)
    sudden = act(client, case, token="ca-1", action="complete", step=a.pk, category="sudden", opinion="x")
    assert "突发严重困难户须说明" in body(sudden)
    done = act(
        client, case, token="ca-2", action="complete", step=a.pk, category="marginal", opinion="同意纳入"
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.category) == (CaseStatus.MONITORED, "marginal")
    page = client.get(f"/cases/{case.pk}/")
    assert "监测帮扶中" in body(page)
    assert f"/cases/{case.pk}/plan/" in body(page)


# --- the plan editor -------------------------------------------------------------------------------------------


def plan_post(client, case, rows: list[dict], *, token="plan-1", reason="", extra_rows: int = 1):
    data = {
        "token": token,
        "reason": reason,
        "expected_version": MonitoringCase.objects.get(pk=case.pk).version,
        "items-TOTAL_FORMS": str(len(rows) + extra_rows),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"items-{i}-{key}"] = value
    return client.post(f"/cases/{case.pk}/plan/", data)


def measure_id(code: str) -> int:
    return mf.measure(code).pk


def test_plan_editor_shows_must_optional_and_forbidden_per_risk(client_for, actors, household):
    case = identified_case(household, actors, risks=("07", "01"))
    response = client_for(actors.county_approver).get(f"/cases/{case.pk}/plan/")
    assert response.status_code == 200
    options = {o["risk"]: o for o in response.context["options"]}
    assert [m["code"] for m in options["07"]["forbidden"]] == ["M0802"]
    assert "M0504" in [m["code"] for m in options["01"]["optional"]]
    html = body(response)
    assert "因务工就业不稳" in html and "特困人员救助供养" in html and "禁选" in html and "必选" in html


def test_county_approver_builds_a_valid_plan(client_for, actors, household):
    case = identified_case(household, actors)
    human_resources = Department.objects.get(code="human_resources")
    response = plan_post(
        client_for(actors.county_approver),
        case,
        [
            {
                "measure": measure_id("M0203"),
                "responsible_person": "王主任",
                "planned_start": TODAY.isoformat(),
                "planned_end": (TODAY + dt.timedelta(days=30)).isoformat(),
                "amount": "500",
            },
            {"measure": measure_id("M0401"), "department": human_resources.pk},
        ],
    )
    assert response.status_code == 302, body(response)
    assert response["Location"] == f"/cases/{case.pk}/"
    rows = list(AssistanceMeasure.objects.filter(case=case).order_by("id"))
    assert [r.measure.code for r in rows] == ["M0203", "M0401"]
    assert rows[0].department.code == "human_resources"  # the catalogue's department
    assert str(rows[0].amount) == "500.00"


def test_a_forbidden_measure_is_refused_with_its_rule_and_risk_and_the_rows_stay(
    client_for, actors, household
):
    case = identified_case(household, actors)
    response = plan_post(
        client_for(actors.county_approver),
        case,
        [
            {"measure": measure_id("M0203"), "responsible_person": "王主任"},
            {"measure": measure_id("M0802"), "responsible_person": "民政所李某"},
        ],
    )
    assert response.status_code == 200
    html = body(response)
    assert "因务工就业不稳：禁选措施「特困人员救助供养」不能使用" in html
    assert "民政所李某" in html and "王主任" in html  # rows kept as typed
    formset = response.context["formset"]
    assert formset.forms[1]["measure"].value() == str(measure_id("M0802"))
    assert "禁选" in formset.forms[1].errors["measure"][0]  # also on the row that chose it
    assert not formset.forms[0].errors
    assert AssistanceMeasure.objects.filter(case=case).count() == 0


def test_a_row_error_goes_next_to_its_field(client_for, actors, household):
    case = identified_case(household, actors)
    response = plan_post(
        client_for(actors.county_approver),
        case,
        [
            {"measure": measure_id("M0203"), "responsible_person": "王主任"},
            {},  # an empty row in between is skipped
            {
                "measure": measure_id("M0401"),
                "responsible_person": "张",
                "planned_start": TODAY.isoformat(),
                "planned_end": ago(3).isoformat(),
            },
        ],
        extra_rows=0,
    )
    formset = response.context["formset"]
    assert "计划完成日期不能早于计划开始日期" in formset.forms[2].errors["planned_end"][0]
    assert not formset.forms[0].errors
    assert AssistanceMeasure.objects.filter(case=case).count() == 0


def test_double_submit_of_a_plan_saves_it_once(client_for, actors, household):
    case = identified_case(household, actors)
    client = client_for(actors.county_approver)
    rows = [{"measure": measure_id("M0203"), "responsible_person": "王主任", "amount": "100"}]
    first = plan_post(client, case, rows, token="plan-once")
    second = plan_post(client, case, rows, token="plan-once")
    assert first.status_code == second.status_code == 302
    assert StatusChange.objects.filter(case=case, object_type="measure", action="plan").count() == 1


def test_a_cadre_cannot_set_a_plan(client_for, actors, household):
    case = identified_case(household, actors)
    client = client_for(actors.cadre)
    page = client.get(f"/cases/{case.pk}/plan/")
    assert "您的角色不能办理此事项" in body(page)
    response = plan_post(client, case, [{"measure": measure_id("M0203"), "responsible_person": "王"}])
    assert response.status_code == 403
    assert AssistanceMeasure.objects.filter(case=case).count() == 0


def test_measure_start_complete_and_stop_on_the_case_page(client_for, actors, household):
    case = identified_case(household, actors)
    first, second = assistance.plan_set(
        actor=actors.county_approver,
        case=case,
        items=[
            {"measure": "M0203", "responsible_person": "王"},
            {"measure": "M0401", "responsible_person": "张"},
        ],
    )
    client = client_for(actors.county_approver)
    page = client.get(f"/cases/{case.pk}/")
    assert "开始实施" in body(page) and "已落实" in body(page)
    assert act(client, case, token="m-1", action="measure_start", measure=first.pk).status_code == 302
    no_date = act(
        client, case, token="m-2", action="measure_complete", measure=first.pk, actual_date="", note="已推荐"
    )
    assert "请填写实际落实日期" in body(no_date)
    assert "已推荐" in body(no_date)
    done = act(
        client,
        case,
        token="m-3",
        action="measure_complete",
        measure=first.pk,
        actual_date=TODAY.isoformat(),
        amount="800",
    )
    assert done.status_code == 302
    no_reason = act(client, case, token="m-4", action="measure_stop", measure=second.pk, reason="")
    assert "请填写原因" in body(no_reason)
    stopped = act(client, case, token="m-5", action="measure_stop", measure=second.pk, reason="已外出务工")
    assert stopped.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, str(first.amount), second.status) == (
        MeasureStatus.IMPLEMENTED,
        "800.00",
        MeasureStatus.STOPPED,
    )


# --- exit -----------------------------------------------------------------------------------------------------------


def test_exit_page_shows_the_checklist_and_refuses_an_ineligible_proposal(client_for, actors, household):
    case = identified_case(household, actors)
    client = client_for(actors.cadre)
    page = client.get(f"/cases/{case.pk}/exit/")
    assert page.status_code == 200
    checks = {c["code"]: c for c in page.context["checks"]}
    assert not checks["min_months"]["ok"]
    assert "须满6个月" in checks["min_months"]["detail"]
    assert "override_reason" not in body(page)  # only the county may override
    natural = client.get(f"/cases/{case.pk}/exit/?mode=natural")
    assert "min_months" not in {c["code"] for c in natural.context["checks"]}
    refused = client.post(
        f"/cases/{case.pk}/exit/", {"token": "e-1", "mode": "assistance", "expected_version": case.version}
    )
    assert refused.status_code == 409
    assert "不符合风险消除条件" in body(refused)
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED


def test_county_approver_overrides_with_a_written_reason(client_for, actors, household):
    case = identified_case(household, actors)
    response = client_for(actors.county_approver).post(
        f"/cases/{case.pk}/exit/",
        {
            "token": "e-2",
            "mode": "natural",
            "override_reason": "户主已稳定就业，收入证明已核实",
            "expected_version": case.version,
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.EXIT_IN_PROGRESS
    assessment = case.exit_assessments.get()
    assert assessment.override_reason == "户主已稳定就业，收入证明已核实"
    page = client_for(actors.cadre).get(f"/cases/{case.pk}/")
    assert "风险消除程序" in body(page)


# --- triage ------------------------------------------------------------------------------------------------------------


def alert(county_approver, *, n: int, id_number: str = "", department="medical_insurance") -> Clue:
    clue, _created = clues.alert_receive(
        actor=None,
        department=Department.objects.get(code=department),
        external_id=f"ALERT-{n}",
        found_date=ago(3),
        risk_type_codes=["01"],
        id_number=id_number,
        name=f"预警对象{n}",
        description="住院自付费用超过2万元",
    )
    if not clue.area_code:
        Clue.objects.filter(pk=clue.pk).update(area_code="130727000000")
        clue.refresh_from_db()
    return clue


def test_triage_list_is_for_the_county_approver(client_for, cadre, county_approver):
    assert client_for(cadre).get("/clues/").status_code == 403
    assert client_for(county_approver).get("/clues/").status_code == 200


def test_triage_list_makes_the_same_number_of_queries_for_5_and_30_clues(client_for, county_approver):
    client = client_for(county_approver)
    for n in range(5):
        alert(county_approver, n=n)
    client.get("/clues/")
    with CaptureQueriesContext(connection) as five:
        response = client.get("/clues/")
    assert len(response.context["page"].object_list) == 5
    for n in range(5, 30):
        alert(county_approver, n=n)
    with CaptureQueriesContext(connection) as thirty:
        response = client.get("/clues/?department=medical_insurance")
    assert response.context["page"].paginator.count == 30
    assert len(thirty) == len(five), [q["sql"] for q in thirty.captured_queries]


def test_triage_filters_by_status_channel_department_and_date(client_for, county_approver, household, cadre):
    a = alert(county_approver, n=1)
    alert(county_approver, n=2, department="education")
    open_case(household, cadre)  # a self-report: case opened, not waiting for triage
    client = client_for(county_approver)
    listed = client.get("/clues/").context["page"].object_list
    assert {c.channel for c in listed} == {Channel.DEPARTMENT_ALERT}
    assert len(client.get("/clues/?all=1").context["page"].object_list) == 3
    only = client.get("/clues/?department=education").context["page"].object_list
    assert [c.department.code for c in only] == ["education"]
    by_date = client.get(f"/clues/?found_from={TODAY.isoformat()}").context["page"].object_list
    assert list(by_date) == []
    self_reports = client.get("/clues/?status=case_opened&channel=self_report").context["page"].object_list
    assert len(self_reports) == 1
    assert a.pk in {c.pk for c in client.get("/clues/?status=unmatched").context["page"].object_list}


def test_match_an_alert_to_a_household_then_open_a_case(client_for, county_approver, household):
    clue = alert(county_approver, n=1)
    client = client_for(county_approver)
    page = client.get(f"/clues/{clue.pk}/?q={household.number}")
    assert [h.pk for h in page.context["candidates"]] == [household.pk]
    matched = client.post(f"/clues/{clue.pk}/match/", {"token": "mt-1", "household": household.pk})
    assert matched.status_code == 302
    clue.refresh_from_db()
    assert (clue.status, clue.household_id) == (ClueStatus.PENDING, household.pk)
    opened = client.post(f"/clues/{clue.pk}/open/", {"token": "op-1"})
    clue.refresh_from_db()
    assert clue.status == ClueStatus.CASE_OPENED
    assert opened["Location"] == f"/cases/{clue.case_id}/"


def test_search_by_id_number_finds_the_household(client_for, county_approver, household):
    head = household.head
    clue = alert(county_approver, n=7)
    page = client_for(county_approver).post(f"/clues/{clue.pk}/", {"q": head.id_number}, follow=True)
    assert [h.pk for h in page.context["candidates"]] == [household.pk]
    ((url, _status),) = page.redirect_chain
    assert head.id_number not in url and "search_key=" in url


def test_dismiss_needs_a_reason(client_for, county_approver):
    clue = alert(county_approver, n=1)
    client = client_for(county_approver)
    refused = client.post(f"/clues/{clue.pk}/dismiss/", {"token": "d-0", "reason": "", "note": "看过了"})
    assert refused.status_code == 200
    assert "请选择排除原因" in body(refused)
    assert "看过了" in body(refused)
    other = client.post(f"/clues/{clue.pk}/dismiss/", {"token": "d-1", "reason": "other", "note": ""})
    assert "请说明排除原因" in body(other)
    done = client.post(f"/clues/{clue.pk}/dismiss/", {"token": "d-2", "reason": "duplicate", "note": ""})
    assert done.status_code == 302
    clue.refresh_from_db()
    assert (clue.status, clue.dismiss_reason) == (ClueStatus.DISMISSED, "duplicate")


def test_bulk_dismiss_and_bulk_open_report_each_item(client_for, county_approver, household, areas):
    matched = alert(county_approver, n=1, id_number=household.head.id_number)
    unmatched = alert(county_approver, n=2)
    client = client_for(county_approver)
    assert matched.status == ClueStatus.PENDING
    response = client.post(
        "/clues/bulk/",
        {"token": "b-1", "bulk_action": "open_case", "clues": [matched.pk, unmatched.pk], "query": "all=1"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/clues/?all=1"
    page = client.get(response["Location"])
    results = {r["id"]: r for r in page.context["results"]}
    assert results[matched.pk]["ok"] and results[matched.pk]["case_id"]
    assert not results[unmatched.pk]["ok"]
    assert "线索尚未匹配到农户" in results[unmatched.pk]["message"]
    assert "未办理" in body(page)
    # the results are shown once
    assert client.get("/clues/").context["results"] is None

    third = alert(county_approver, n=3)
    response = client.post(
        "/clues/bulk/",
        {"token": "b-2", "bulk_action": "dismiss", "reason": "not_found", "clues": [unmatched.pk, third.pk]},
    )
    assert response.status_code == 302
    assert set(Clue.objects.filter(status=ClueStatus.DISMISSED).values_list("pk", flat=True)) == {
        unmatched.pk,
        third.pk,
    }
    again = client.post(
        "/clues/bulk/",
        {"token": "b-2", "bulk_action": "dismiss", "reason": "not_found", "clues": [unmatched.pk, third.pk]},
    )
    assert again.status_code == 302  # the same submit: answered with the first one's result
    assert StatusChange.objects.filter(object_type="clue", action="dismiss").count() == 2


def test_bulk_without_selection_says_so(client_for, county_approver):
    alert(county_approver, n=1)
    client = client_for(county_approver)
    response = client.post("/clues/bulk/", {"token": "b-3", "bulk_action": "dismiss"}, follow=True)
    assert "请至少勾选一条线索" in body(response)


def test_a_cadre_gets_404_for_another_villages_clue(client_for, areas, cadre, other_household):
    other_cadre = af.user(Role.VILLAGE_CADRE, areas["v21"])
    clue = clues.clue_create(
        actor=other_cadre,
        channel="self_report",
        found_date=ago(1),
        risk_type_codes=["01"],
        household=other_household,
    )
    client = client_for(cadre)
    assert client.get(f"/clues/{clue.pk}/").status_code == 404
    own = clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=ago(1),
        risk_type_codes=["01"],
        household=Household.objects.filter(area_code=areas["v11"].code).first() or hf.household(areas["v11"]),
    )
    assert client.get(f"/clues/{own.pk}/").status_code == 200
    for suffix in ("match/", "dismiss/", "open/"):
        assert client.post(f"/clues/{clue.pk}/{suffix}", {"token": "x"}).status_code == 404
        assert (
            client.post(f"/clues/{own.pk}/{suffix}", {"token": "x"}).status_code == 403
        )  # triage is the county's


def test_a_county_approver_of_another_county_sees_no_clue(client_for, areas, county_approver):
    clue = alert(county_approver, n=1)
    other_county = af.area("130728000000", "怀安县", "county", areas["city"])
    stranger = af.user(Role.COUNTY_APPROVER, other_county)
    assert client_for(stranger).get(f"/clues/{clue.pk}/").status_code == 404
    assert client_for(stranger).post(f"/clues/{clue.pk}/dismiss/", {"reason": "duplicate"}).status_code == 404


def test_green_channel_and_the_approval_queue(client_for, actors, household, areas):
    accident = open_case(household, actors.cadre, risks=("05",))
    illness = open_case(hf.household(areas["v11"]), actors.cadre, risks=("01",))
    client = client_for(actors.county_approver)
    page = client.get(f"/cases/{illness.pk}/")
    green = next(a for a in page.context["case_actions"] if a["action"] == "green_channel")
    assert not green["allowed"] and "只有自然灾害、意外事故等风险可走绿色通道" in body(page)
    refused = act(client, accident, token="g-0", action="green_channel", reason="")
    assert "请填写原因" in body(refused)
    done = act(client, accident, token="g-1", action="green_channel", reason="车祸致户主重伤，先行救助")
    assert done.status_code == 302
    accident.refresh_from_db()
    assert (accident.status, accident.green_channel) == (CaseStatus.PROVISIONAL, True)
    # a provisional case can be planned at once
    assert f"/cases/{accident.pk}/plan/" in body(client.get(f"/cases/{accident.pk}/"))

    at_approval = case_at_approval(hf.household(areas["v11"], labour=("normal",)), actors)
    queue = client.get("/cases/?queue=approval").context["page"].object_list
    assert [c.pk for c in queue] == [at_approval.pk]


def test_forms_need_the_csrf_token(household, cadre):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(cadre)
    page = client.get(f"/households/{household.pk}/clue/")
    assert 'name="csrfmiddlewaretoken"' in body(page)
    data = {
        "token": "c",
        "channel": "self_report",
        "found_date": ago(1).isoformat(),
        "risk_type_codes": ["01"],
    }
    assert client.post(f"/households/{household.pk}/clue/", data).status_code == 403
    assert Clue.objects.count() == 0
    data["csrfmiddlewaretoken"] = page.context["csrf_token"]
    assert client.post(f"/households/{household.pk}/clue/", data).status_code == 302
