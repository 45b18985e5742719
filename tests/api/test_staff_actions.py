"""``POST /api/v1/cases/{id}/actions/``: a whole case driven through Yangyuan's overlapped
procedure, the assistance plan and the exit procedure over the API (session and token auth),
and every kind of refusal with the error shape.

The API runs on the real clock: dates are relative to ``timezone.localdate()`` (a notice is
posted starting a week ago so that it has run its days today).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.tokens import token_issue
from households import services as household_services
from households.models import MonitoringStatus
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    ClueStatus,
    MonitoringCase,
    ObjectionStatus,
    PublicNotice,
    StatusChange,
    StepStatus,
)
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import ensure_income, tiny_png

TODAY = timezone.localdate()


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def client_for(user, *, token: bool = False) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(actor=user, name='test')[1]}")
    else:
        client.force_login(user)
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert body["message"]
    if code:
        assert body["code"] == code, body
    return body


class Desk:
    """One person's API client on one case: reads it, acts on it with its current version."""

    def __init__(self, client: APIClient, case_id: int):
        self.client, self.case_id = client, case_id

    @property
    def url(self) -> str:
        return f"/api/v1/cases/{self.case_id}/"

    def get(self) -> dict:
        response = self.client.get(self.url)
        assert response.status_code == 200, response.content
        return response.json()

    def step(self, code: str, procedure_kind: str = "identification") -> dict:
        steps = [
            s for s in self.get()["steps"] if s["code"] == code and s["procedure_kind"] == procedure_kind
        ]
        return max(steps, key=lambda s: s["id"])

    def post(self, action: str, *, step=None, data=None, reason: str = "", version="current", **extra):
        body = {"action": action, "step": step, "data": data or {}, "reason": reason, **extra}
        if version == "current":
            body["expected_version"] = self.get()["version"]
        elif version is not None:
            body["expected_version"] = version
        return self.client.post(f"{self.url}actions/", body, format="json")

    def act(self, action: str, **kwargs) -> dict:
        response = self.post(action, **kwargs)
        assert response.status_code == 200, response.content
        return response.json()

    def complete(self, code: str, data: dict, procedure_kind: str = "identification") -> dict:
        return self.act("complete", step=self.step(code, procedure_kind)["id"], data=data)


def let_the_notice_run(step_id: int) -> None:
    """The API runs on today's clock and a notice starts no earlier than the review it follows:
    move the notice back so that it ended yesterday, as if its days had passed."""
    notice = PublicNotice.objects.get(step_id=step_id)
    shift = (notice.end_date - TODAY).days + 1
    PublicNotice.objects.filter(pk=notice.pk).update(
        start_date=notice.start_date - dt.timedelta(days=shift),
        end_date=notice.end_date - dt.timedelta(days=shift),
    )


def allowed(case_body: dict, action: str, step_id=None) -> bool:
    return any(
        a["action"] == action and a["allowed"] and (step_id is None or a["step"] == step_id)
        for a in case_body["available_actions"]
    )


@pytest.fixture
def household(household):
    """Registered 200 days ago."""
    return hf.registered_on(household, TODAY - dt.timedelta(days=200))


@pytest.fixture
def desks(cadre, township_reviewer, county_approver):
    """Session auth for the village, tokens for the township and the county."""
    return {
        "cadre": client_for(cadre),
        "reviewer": client_for(township_reviewer, token=True),
        "approver": client_for(county_approver, token=True),
    }


def open_case(client: APIClient, household, risks=("01",)) -> int:
    response = client.post(
        "/api/v1/clues/",
        {
            "household": household.pk,
            "channel": "self_report",
            "found_date": days_ago(3),
            "risk_type_codes": list(risks),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["case"]


HOME_CHECK = {"visitors": ["张三"], "authorization_signed": True, "findings": "户主住院，已核实"}
REVIEW = {"attendees": 9, "votes_for": 8, "votes_against": 1, "votes_abstain": 0, "minutes": "评议通过"}


# --- the whole case ----------------------------------------------------------------------------


def test_a_case_through_identification_assistance_and_exit(desks, household, cadre):
    case_id = open_case(desks["cadre"], household)
    cadre_desk = Desk(desks["cadre"], case_id)
    reviewer = Desk(desks["reviewer"], case_id)
    approver = Desk(desks["approver"], case_id)

    body = cadre_desk.get()
    assert body["status"] == CaseStatus.IDENTIFYING and body["version"] >= 0
    # the case's own 15-day deadline, counted from the day the risk was found
    assert body["deadline"] == {
        "state": "on_time",
        "due": (TODAY + dt.timedelta(days=12)).isoformat(),
        "days_left": 12,
    }
    home = cadre_desk.step("home_verification")
    assert home["status"] == StepStatus.AVAILABLE
    assert home["deadline"]["due"] == (TODAY + dt.timedelta(days=3)).isoformat()
    assert allowed(body, "complete", home["id"])
    assert not allowed(reviewer.get(), "complete", home["id"])

    # home verification opens the township check, the county comparison and the village review at once
    body = cadre_desk.complete("home_verification", {**HOME_CHECK, "visited_on": TODAY.isoformat()})
    opened = {s["code"] for s in body["steps"] if s["status"] == StepStatus.AVAILABLE}
    assert opened == {"data_comparison", "village_review", "township_review"}
    approver.complete("data_comparison", {"findings": "比对无异常"})
    reviewer.complete("township_review", {"opinion": "同意"})
    cadre_desk.complete("village_review", {**REVIEW, "held_on": TODAY.isoformat()})

    notice_step = cadre_desk.step("village_notice")
    body = cadre_desk.act("post_notice", step=notice_step["id"], data={"start_date": TODAY.isoformat()})
    notice = next(s for s in body["steps"] if s["id"] == notice_step["id"])["notice"]
    assert notice["start_date"] == TODAY.isoformat() and household.phone not in notice["content"]
    refused = assert_error(cadre_desk.post("complete", step=notice_step["id"]), 409, "invalid_transition")
    assert "公示期未满" in refused["message"]

    # an objection during the notice holds it until the village has looked into it
    body = cadre_desk.act(
        "record_objection",
        step=notice_step["id"],
        data={"raised_on": TODAY.isoformat(), "content": "该户有经营性收入", "raised_by": "村民甲"},
    )
    let_the_notice_run(notice_step["id"])
    objection = body["objections"][0]
    assert objection["status"] == ObjectionStatus.OPEN
    refused = assert_error(cadre_desk.post("complete", step=notice_step["id"]), 409, "invalid_transition")
    assert "异议" in refused["message"]
    cadre_desk.act(
        "resolve_objection",
        data={"objection": objection["id"], "upheld": False, "finding": "经营已停止，异议不成立"},
    )
    cadre_desk.complete("village_notice", {})

    approval = approver.step("county_approval")
    assert allowed(approver.get(), "complete", approval["id"])
    body = approver.complete("county_approval", {"category": "marginal", "opinion": "同意纳入"})
    assert body["status"] == CaseStatus.MONITORED and body["category"] == "marginal"
    assert body["identified_on"] == TODAY.isoformat()
    assert all(s["status"] == StepStatus.DONE for s in body["steps"])
    assert body["deadline"]["state"] == "done"
    household.refresh_from_db()
    assert household.monitoring_status == MonitoringStatus.MONITORED

    # the assistance plan, checked against the catalogue rules
    body = approver.act(
        "set_plan",
        data={"items": [{"measure": "M0504"}, {"measure": "M0101", "amount": "3000"}]},
        reason="因病",
    )
    assert sorted(m["measure_code"] for m in body["measures"]) == ["M0101", "M0504"]

    # the exit: not eligible yet, so the village is told why and only the county may override
    assert allowed(cadre_desk.get(), "propose_exit")
    refused = assert_error(
        cadre_desk.post("propose_exit", data={"mode": "natural"}), 409, "invalid_transition"
    )
    assert "不符合风险消除条件" in refused["message"] and "criteria" in refused["fields"]
    assert_error(
        cadre_desk.post("propose_exit", data={"mode": "natural", "override_reason": "村里同意"}),
        403,
        "not_allowed",
    )
    body = approver.act(
        "propose_exit", data={"mode": "natural", "override_reason": "户主已随子女迁居，经县级研究同意"}
    )
    assert body["status"] == CaseStatus.EXIT_IN_PROGRESS and body["exit_mode"] == "natural"
    exit_steps = [s for s in body["steps"] if s["procedure_kind"] == "exit"]
    assert [s["code"] for s in exit_steps if s["status"] == StepStatus.AVAILABLE] == ["home_verification"]

    # 听评看算: a photo uploaded first, an income record to calculate from, the three texts
    home_check = cadre_desk.step("home_verification", "exit")
    photo = SimpleUploadedFile("look.png", tiny_png(), content_type="image/png")
    uploaded = cadre_desk.client.post(
        f"{cadre_desk.url}photos/", {"step": home_check["id"], "file": photo}, format="multipart"
    )
    assert uploaded.status_code == 201, uploaded.content
    ensure_income(household, TODAY.year - 1)
    body = cadre_desk.complete(
        "home_verification",
        {
            "visited_on": TODAY.isoformat(),
            "visitors": ["张三", "李四"],
            "findings": "已迁居",
            "listen": "户主随子女迁居",
            "assess": "村级评议同意",
            "look": "房屋已空置",
        },
        procedure_kind="exit",
    )
    cadre_desk.complete("village_review", {**REVIEW, "held_on": TODAY.isoformat()}, procedure_kind="exit")
    exit_notice = cadre_desk.step("village_notice", "exit")
    cadre_desk.act("post_notice", step=exit_notice["id"])
    let_the_notice_run(exit_notice["id"])
    cadre_desk.complete("village_notice", {}, procedure_kind="exit")
    reviewer.complete("township_review", {"opinion": "验收合格"}, procedure_kind="exit")
    body = approver.complete("county_approval", {"opinion": "同意风险消除"}, procedure_kind="exit")
    assert body["status"] == CaseStatus.ELIMINATED and body["eliminated_on"] == TODAY.isoformat()
    assert body["available_actions"] == [] or not any(a["allowed"] for a in body["available_actions"])
    household.refresh_from_db()
    assert household.monitoring_status == MonitoringStatus.ELIMINATED
    # every change was made by the person who called the API, and logged
    actors = set(StatusChange.objects.filter(case_id=case_id).values_list("actor__username", flat=True))
    assert actors == {"cadre_v11", "reviewer_t1", "approver"}


def test_green_channel_then_a_provisional_plan(desks, household):
    case_id = open_case(desks["cadre"], household, risks=("05",))
    reviewer = Desk(desks["reviewer"], case_id)
    assert allowed(reviewer.get(), "green_channel")
    assert_error(reviewer.post("green_channel"), 400, "invalid")  # a reason is required
    body = reviewer.act("green_channel", reason="车祸致户主重伤，先行帮扶")
    assert body["status"] == CaseStatus.PROVISIONAL and body["green_channel"] is True
    body = Desk(desks["approver"], case_id).act(
        "set_plan", data={"items": [{"measure": "M0803"}, {"measure": "M0101"}]}
    )
    assert len(body["measures"]) == 2


def test_a_township_rejection_ends_the_identification(desks, household):
    case_id = open_case(desks["cadre"], household)
    Desk(desks["cadre"], case_id).complete(
        "home_verification", {**HOME_CHECK, "visited_on": TODAY.isoformat()}
    )
    reviewer = Desk(desks["reviewer"], case_id)
    step = reviewer.step("township_review")
    assert_error(reviewer.post("reject", step=step["id"]), 400, "invalid")
    body = reviewer.act("reject", step=step["id"], reason="家庭收入高于监测线")
    assert body["status"] == CaseStatus.NOT_INCLUDED
    assert "家庭收入高于监测线" in body["decision_reason"]
    household.refresh_from_db()
    assert household.monitoring_status == MonitoringStatus.NONE


def test_returning_a_step_reopens_the_steps_it_waits_for(desks, household):
    case_id = open_case(desks["cadre"], household)
    Desk(desks["cadre"], case_id).complete(
        "home_verification", {**HOME_CHECK, "visited_on": TODAY.isoformat()}
    )
    approver = Desk(desks["approver"], case_id)
    body = approver.act(
        "return", step=approver.step("data_comparison")["id"], reason="核查材料缺少授权书照片"
    )
    steps = {s["code"]: s["status"] for s in body["steps"]}
    assert steps["home_verification"] == StepStatus.AVAILABLE
    assert steps["data_comparison"] == StepStatus.WAITING


def test_measures_are_started_and_completed_through_the_case(areas, desks):
    case = mf.case(hf.household(areas["v11"], members=1), identified_on=TODAY - dt.timedelta(days=10))
    approver = Desk(desks["approver"], case.pk)
    body = approver.act("set_plan", data={"items": [{"measure": "M0504"}, {"measure": "M0101"}]})
    measure = next(m for m in body["measures"] if m["measure_code"] == "M0101")
    body = approver.act("measure_start", data={"measure": measure["id"]})
    assert next(m for m in body["measures"] if m["id"] == measure["id"])["status"] == "in_progress"
    error = assert_error(approver.post("measure_complete", data={"measure": measure["id"]}), 400, "invalid")
    assert "data.actual_date" in error["fields"]
    body = approver.act(
        "measure_complete",
        data={"measure": measure["id"], "actual_date": TODAY.isoformat(), "amount": "2000"},
    )
    done = next(m for m in body["measures"] if m["id"] == measure["id"])
    assert done["status"] == "implemented" and done["amount"] == "2000.00"
    assert_error(approver.post("measure_stop", data={"measure": measure["id"]}, reason="改变计划"), 409)
    other = mf.case(hf.household(areas["v11"], members=1), identified_on=TODAY - dt.timedelta(days=10))
    error = assert_error(
        Desk(desks["approver"], other.pk).post("measure_start", data={"measure": measure["id"]}), 400
    )
    assert "data.measure" in error["fields"]
    assert_error(Desk(desks["cadre"], case.pk).post("measure_start", data={"measure": measure["id"]}), 403)


def test_secured_tracking_by_the_county_only(areas, desks, cadre):
    home = hf.household(areas["v11"], members=1, no_labour_safety_net=True)
    case = mf.case(home, identified_on=TODAY - dt.timedelta(days=60))
    assert_error(
        Desk(desks["cadre"], case.pk).post("secure_tracking", reason="整户无劳动能力"), 403, "not_allowed"
    )
    body = Desk(desks["approver"], case.pk).act("secure_tracking", reason="整户无劳动能力，兜底保障")
    assert body["status"] == CaseStatus.SECURED_TRACKING


# --- refusals ------------------------------------------------------------------------------------


@pytest.fixture
def case_id(desks, household):
    return open_case(desks["cadre"], household)


def test_invalid_step_data_is_400_with_the_fields(desks, case_id):
    desk = Desk(desks["cadre"], case_id)
    before = desk.get()["version"]
    body = assert_error(
        desk.post("complete", step=desk.step("home_verification")["id"], data={}), 400, "invalid"
    )
    assert {"data.visited_on", "data.visitors", "data.authorization_signed", "data.findings"} <= set(
        body["fields"]
    )
    body = assert_error(
        desk.post(
            "complete",
            step=desk.step("home_verification")["id"],
            data={**HOME_CHECK, "visited_on": (TODAY + dt.timedelta(days=2)).isoformat()},
        ),
        400,
    )
    assert set(body["fields"]) == {"data.visited_on"}
    assert desk.get()["version"] == before


def test_a_wrong_role_is_403(desks, case_id):
    reviewer = Desk(desks["reviewer"], case_id)
    body = assert_error(
        reviewer.post("complete", step=reviewer.step("home_verification")["id"], data=HOME_CHECK),
        403,
        "not_allowed",
    )
    assert "村干部" in body["message"]


def test_an_action_not_allowed_now_is_409_with_the_reason(desks, case_id):
    desk = Desk(desks["cadre"], case_id)
    approver = Desk(desks["approver"], case_id)
    approval = approver.step("county_approval")["id"]
    body = assert_error(
        approver.post("complete", step=approval, data={"category": "marginal"}), 409, "invalid_transition"
    )
    assert "等待前置步骤" in body["message"]
    waiting = [a for a in approver.get()["available_actions"] if a["step"] == approval]
    assert waiting and not waiting[0]["allowed"] and "村级公示" in waiting[0]["reason"]
    # green channel only for disasters and accidents (this case is an illness)
    body = assert_error(Desk(desks["reviewer"], case_id).post("green_channel", reason="急"), 409)
    assert "自然灾害" in body["message"]
    assert_error(desk.post("propose_exit", data={"mode": "natural"}), 409, "invalid_transition")
    assert_error(desk.post("record_objection", data={"raised_on": TODAY.isoformat(), "content": "x"}), 409)


def test_a_stale_version_is_409_and_changes_nothing(desks, case_id):
    desk = Desk(desks["cadre"], case_id)
    version = desk.get()["version"]
    step = desk.step("home_verification")["id"]
    data = {**HOME_CHECK, "visited_on": TODAY.isoformat()}
    body = assert_error(desk.post("complete", step=step, data=data, version=version + 1), 409, "conflict")
    assert "刷新" in body["message"]
    # actions whose service has no version check are guarded the same way
    assert_error(
        Desk(desks["approver"], case_id).post(
            "set_plan", data={"items": [{"measure": "M0504"}]}, version=version + 7
        ),
        409,
        "conflict",
    )
    assert desk.get()["version"] == version
    desk.act("complete", step=step, data=data, version=version)
    assert desk.get()["version"] > version
    # without expected_version the action is not version-checked
    desk.act(
        "complete",
        step=desk.step("village_review")["id"],
        data={**REVIEW, "held_on": TODAY.isoformat()},
        version=None,
    )


def test_another_area_is_404_and_a_helper_is_403(areas, desks, case_id, household):
    other = af.user(Role.VILLAGE_CADRE, areas["v12"])
    assert_error(Desk(client_for(other), case_id).post("complete", step=1, version=None), 404, "not_found")
    helper_user = af.user(Role.HELPER)
    household_services.helper_assign(
        actor=None,
        helper=hf.helper(areas["county"], helper_user),
        household=household,
        start_date=TODAY - dt.timedelta(days=30),
    )
    helper = Desk(client_for(helper_user), case_id)
    step = helper.step("home_verification")
    assert not allowed(helper.get(), "complete", step["id"])
    assert_error(helper.post("complete", step=step["id"], data=HOME_CHECK), 403, "not_allowed")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "fly"}, "action"),
        ({}, "action"),
        ({"action": "complete"}, "step"),
        ({"action": "complete", "step": "abc"}, "step"),
        ({"action": "complete", "step": 10**9}, "step"),
        ({"action": "green_channel", "data": "x"}, "data"),
        ({"action": "green_channel", "expected_version": -1}, "expected_version"),
        ({"action": "green_channel", "reason": ["a"]}, "reason"),
        ({"action": "propose_exit", "data": {"mode": "magic"}}, "data.mode"),
        ({"action": "post_notice", "step": "STEP", "data": {"start_date": "soon"}}, "data.start_date"),
        ({"action": "complete", "step": "STEP", "data": {"visitors": 5}}, "data.visitors"),
        ({"action": "complete", "step": "STEP", "data": {"visitors": [{"a": 1}]}}, "data.visitors"),
        ({"action": "complete", "step": "STEP", "data": {"risk_type_codes": 1}}, "data.risk_type_codes"),
        ({"action": "set_plan", "data": {}}, "data.items"),
        ({"action": "set_plan", "data": {"items": ["M0504"]}}, "data.items.0"),
        ({"action": "set_plan", "data": {"items": [{"note": ["a"]}]}}, "data.items[0].note"),
        ({"action": "resolve_objection", "data": {"objection": 5}}, "data.upheld"),
        ({"action": "resolve_objection", "data": {"objection": 10**6, "upheld": True}}, "data.objection"),
        ({"action": "record_objection", "data": {"raised_on": "x"}}, "data.raised_on"),
        (
            {
                "action": "record_objection",
                "data": {"notice": 10**6, "raised_on": "2026-01-01", "content": "x"},
            },
            "data.notice",
        ),
    ],
)
def test_bad_action_input_is_400_with_the_field(body, field, desks, case_id):
    client = desks["cadre"] if body.get("action") != "set_plan" else desks["approver"]
    if body.get("step") == "STEP":
        body["step"] = Desk(client, case_id).step("home_verification")["id"]
    response = client.post(f"/api/v1/cases/{case_id}/actions/", body, format="json")
    error = assert_error(response, 400, "invalid")
    assert any(key == field or key.startswith(field + ".") for key in error["fields"]), error


def test_plan_errors_name_the_item_and_the_plan(areas, desks):
    case = mf.case(hf.household(areas["v11"], members=1), identified_on=TODAY - dt.timedelta(days=10))
    approver = Desk(desks["approver"], case.pk)
    error = assert_error(approver.post("set_plan", data={"items": [{"measure": "M9999"}]}), 400, "invalid")
    assert "data.items[0].measure" in error["fields"]
    error = assert_error(approver.post("set_plan", data={"items": [{"measure": "M0201"}]}), 400, "invalid")
    assert "因病须有健康帮扶、社会帮扶或综合保障措施" in error["fields"]["data.items"]
    assert not AssistanceMeasure.objects.filter(case=case).exists()


def test_a_step_of_another_case_is_a_field_error(areas, desks, case_id):
    other_case = open_case(desks["cadre"], hf.household(areas["v11"], members=1))
    foreign = Desk(desks["cadre"], other_case).step("home_verification")["id"]
    error = assert_error(
        Desk(desks["cadre"], case_id).post("complete", step=foreign, data=HOME_CHECK), 400, "invalid"
    )
    assert "step" in error["fields"]
    assert MonitoringCase.objects.get(pk=other_case).steps.get(pk=foreign).status == StepStatus.AVAILABLE


def test_the_clue_that_opened_the_case_is_fed_back(desks, case_id):
    body = Desk(desks["cadre"], case_id).get()
    clue = desks["cadre"].get(f"/api/v1/clues/{body['clues'][0]}/").json()
    assert clue["status"] == ClueStatus.CASE_OPENED and clue["case"] == case_id
    assert not AssistanceMeasure.objects.filter(case_id=case_id).exists()


# --- never a 500 ---------------------------------------------------------------------------------

JUNK = [None, 0, -1, 1.5, 10**30, "", "x", "2026-02-30", [], [1], ["a", None], {}, {"a": 1}, True]
FIELDS = {
    "complete": ["visited_on", "visitors", "authorization_signed", "findings", "risk_type_codes"],
    "post_notice": ["start_date"],
    "propose_exit": ["mode", "override_reason"],
    "record_objection": ["notice", "raised_on", "content", "raised_by"],
    "resolve_objection": ["objection", "upheld", "finding"],
    "set_plan": ["items"],
    "measure_start": ["measure"],
    "measure_complete": ["measure", "actual_date", "amount", "note"],
}
COUNTY_ACTIONS = ("set_plan", "propose_exit", "measure_start", "measure_complete")
ITEM_FIELDS = ["measure", "measure_id", "measure_code", "department", "planned_start", "amount", "note", "x"]


def test_junk_in_any_field_is_a_4xx_never_a_500(areas, desks, case_id, cadre, county_approver):
    monitored = mf.case(hf.household(areas["v11"], members=1), identified_on=TODAY - dt.timedelta(days=10))
    steps = {s["code"]: s["id"] for s in Desk(desks["cadre"], case_id).get()["steps"]}
    statuses = set()

    def post(client, case, body):
        response = client.post(f"/api/v1/cases/{case}/actions/", body, format="json")
        assert 400 <= response.status_code < 500, (body, response.content)
        assert set(response.json()) == {"code", "message", "fields"}
        statuses.add(response.status_code)

    for action, fields in FIELDS.items():
        client = desks["approver"] if action in COUNTY_ACTIONS else desks["cadre"]
        case = monitored.pk if action in COUNTY_ACTIONS else case_id
        step = steps["village_notice" if action == "post_notice" else "home_verification"]
        for field in fields:
            for junk in JUNK:
                post(client, case, {"action": action, "step": step, "data": {field: junk}})
        for junk in JUNK:
            post(client, case, {"action": action, "step": junk, "data": {}})
            post(client, case, {"action": action, "step": step, "reason": junk, "expected_version": junk})
    for field in ITEM_FIELDS:
        for junk in JUNK:
            post(desks["approver"], monitored.pk, {"action": "set_plan", "data": {"items": [{field: junk}]}})
    assert statuses >= {400, 409}
