"""The option list (``monitoring.selectors.case_actions``) is what the services do.

For cases at several stages and each role, every option is tried through the one dispatcher
(each try rolled back): an allowed one goes through with valid data, a disabled one is refused
with the very reason the option gives. The guards behind both are tested directly as pure
functions.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from accounts.errors import InvalidTransition, NotAllowed, ServiceError, ValidationError
from accounts.models import Role
from monitoring import dispatch
from monitoring.models import CaseStep, MonitoringCase, PublicNotice, StepKind, StepStatus
from monitoring.rules import guards, plans, steps, transitions
from monitoring.selectors import WORKFLOW_ACTIONS, CaseOption, available_actions, case_actions
from monitoring.services import assistance, cases, exits
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import (
    Actors,
    at,
    d,
    identified_case,
    open_case,
    run_procedure,
    step,
    step_data,
)

# --- the guards, pure ---------------------------------------------------------------------------

AREA = "该农户不在您的工作区域内。"
ROLE = "您的角色不能办理此事项。"


def test_the_person_is_checked_before_the_state_and_the_area_text_is_one():
    assert guards.area_error(covered=True) is None and guards.area_error(covered=False) == AREA
    assert guards.role_error(has_role=True) is None and guards.role_error(has_role=False) == ROLE
    # objections and the plan: the role, then the area (as require_role, require_area)
    assert guards.staff_error(has_role=False, covered=False) == ROLE
    assert guards.staff_error(has_role=True, covered=False) == AREA
    assert guards.staff_error(has_role=True, covered=True) is None
    # a step: the area, then the step's role
    assert guards.step_actor_error(covered=False, has_role=False, role_label="乡镇审核人员") == AREA
    assert (
        guards.step_actor_error(covered=True, has_role=False, role_label="乡镇审核人员")
        == "此步骤由乡镇审核人员办理。"
    )
    assert guards.step_actor_error(covered=True, has_role=True, role_label="乡镇审核人员") is None


@pytest.mark.parametrize(
    ("guard", "role_text"),
    [
        (guards.green_channel_actor_error, "须由乡镇或县级人员办理。"),
        (guards.secure_tracking_actor_error, "须由县级人员办理。"),
        (guards.exit_proposer_error, "无权提出。"),
    ],
)
def test_case_level_actions_name_who_may_then_the_area(guard, role_text):
    assert guard(has_role=False, covered=False) == role_text
    assert guard(has_role=False, covered=True) == role_text
    assert guard(has_role=True, covered=False) == AREA
    assert guard(has_role=True, covered=True) is None


def test_green_channel_secured_tracking_and_planning_guards():
    assert guards.green_channel_error(status="identifying", green_risk=True) is None
    assert guards.green_channel_error(status="identifying", green_risk=False) == (
        "只有自然灾害、意外事故等风险可走绿色通道。"
    )
    assert (
        guards.green_channel_error(status="provisional", green_risk=True) == "只有识别中的案件可走绿色通道。"
    )
    assert guards.secure_tracking_error(no_labour_safety_net=True) is None
    assert guards.secure_tracking_error(no_labour_safety_net=False) == (
        "只有整户无劳动能力兜底保障户转为兜底保障跟踪。"
    )
    statuses = assistance.PLANNING_STATUSES
    assert guards.planning_error(status="monitored", status_label="监测帮扶中", statuses=statuses) is None
    assert guards.planning_error(status="identifying", status_label="识别中", statuses=statuses) == (
        "案件当前状态为「识别中」，不能制定或调整帮扶计划。"
    )


def test_step_guards_by_kind():
    today = d(3, 9)
    notice = StepKind.VILLAGE_NOTICE
    assert guards.step_error(notice, today=today) == "尚未发布公示。"
    running = {"notice_posted": True, "notice_end": d(3, 9)}
    assert guards.step_error(notice, today=today, **running) == "公示期未满（至2026-03-09），期满后方可办结。"
    assert guards.step_error(notice, today=d(3, 10), **running) is None
    assert guards.step_error(notice, today=d(3, 10), open_objections=1, **running) == (
        "公示期间有未处理的异议，须先调查处理。"
    )
    approval = StepKind.COUNTY_APPROVAL
    assert guards.step_error(approval, today=today, pending_steps=["村级公示", "乡镇审核"]) == (
        "以下步骤尚未完成：村级公示、乡镇审核。"
    )
    assert guards.step_error(approval, today=today, open_objections=2) == "有未处理的公示异议，不能审定。"
    assert guards.step_error(approval, today=today) is None
    assert guards.step_error(StepKind.HOME_VERIFICATION, today=today, open_objections=3) is None
    assert guards.waiting_error([]) is None
    assert guards.waiting_error(["村级公示", "乡镇审核"]) == "须待以下步骤完成：村级公示、乡镇审核。"


@pytest.mark.parametrize(
    ("role", "kwargs", "expected"),
    [
        (Role.DEPARTMENT, {"own_department": True}, {"start": None, "complete": None}),
        (Role.DEPARTMENT, {"own_department": False}, {"start": "该任务不属于您的部门。"}),
        (Role.DEPARTMENT, {"own_department": True}, {"stop": "部门不能终止帮扶措施，请与县级审定人员联系。"}),
        (Role.COUNTY_APPROVER, {"covered": True, "department": "卫生健康局"}, {"start": None, "stop": None}),
        (Role.COUNTY_APPROVER, {"covered": False}, {"start": AREA, "stop": AREA}),
        (Role.TOWNSHIP_REVIEWER, {"covered": False, "department": "卫生健康局"}, {"start": AREA}),
        (
            Role.TOWNSHIP_REVIEWER,
            {"covered": True, "department": "卫生健康局"},
            {"start": "该措施由「卫生健康局」负责落实。", "stop": None},
        ),
        (Role.TOWNSHIP_REVIEWER, {"covered": True}, {"start": None, "complete": None, "stop": None}),
        (Role.VILLAGE_CADRE, {"covered": True}, {"start": ROLE, "stop": ROLE}),
        (Role.HELPER, {"covered": True}, {"complete": ROLE}),
        (Role.VILLAGE_CADRE, {"superuser": True}, {"start": None, "stop": None}),
    ],
)
def test_who_may_act_on_a_measure(role, kwargs, expected):
    kwargs = {"covered": False, **kwargs}
    for action, reason in expected.items():
        assert guards.measure_actor_error(action, role=role, **kwargs) == reason, action


def test_every_step_kind_has_its_check():
    assert set(steps.VALIDATORS) == set(StepKind.values)
    clean, errors = steps.validate_step_data(
        "unknown_kind", {"x": 1}, procedure_kind="identification", today=d(3, 1)
    )
    assert (clean, errors) == ({}, {})
    clean, errors = steps.validate_step_data(
        StepKind.COUNTY_APPROVAL, {"opinion": "同意"}, procedure_kind="exit", today=d(3, 1)
    )
    assert (clean, errors) == ({"opinion": "同意"}, {})
    clean, errors = steps.validate_step_data(
        StepKind.COUNTY_APPROVAL, {}, procedure_kind="identification", today=d(3, 1)
    )
    assert errors == {"category": "请选择监测对象类别。"}
    assert list(clean) == ["opinion", "category", "explanation"]


# --- the option list against the services ------------------------------------------------------------


@pytest.fixture
def actors(cadre, township_reviewer, county_approver):
    return Actors(cadre, township_reviewer, county_approver)


@pytest.fixture
def people(areas, cadre, township_reviewer, county_approver, operator):
    return {
        "cadre": cadre,
        "township": township_reviewer,
        "county": county_approver,
        "helper": af.user(Role.HELPER, areas["v11"], username="helper_v11"),
        "operator": operator,
        "department": mf.department_user("human_resources", areas["county"], username="hr"),
        "stranger": af.user(Role.VILLAGE_CADRE, areas["v12"], username="cadre_v12"),
    }


def _household(areas, actors, **fields):
    return hf.household(areas["v11"], members=2, actor=actors.cadre, **fields)


def _reviewed(areas, actors):
    """Home check and village review done: the notice to post, the township and county at work."""
    case = open_case(_household(areas, actors), actors.cadre, d(3, 1))
    for code in ("home_verification", "village_review"):
        s = step(case, code)
        cases.step_complete(actor=actors.for_step(s), step=s, data=step_data(s, d(3, 2)), now=at(d(3, 2)))
    return case


def _noticed(areas, actors, *, objection: bool):
    case = _reviewed(areas, actors)
    notice = cases.notice_post(actor=actors.cadre, step=step(case, "village_notice"), now=at(d(3, 3)))
    if objection:
        cases.objection_record(
            actor=actors.cadre, notice=notice, raised_on=d(3, 4), content="该户有营运车辆", now=at(d(3, 4))
        )
    return case


def _monitored(areas, actors, *, safety_net: bool = False):
    household = _household(areas, actors, no_labour_safety_net=safety_net)
    case, day = identified_case(household, actors, d(1, 5), risk_type_codes=["04" if safety_net else "07"])
    return case, day


def _with_measures(areas, actors):
    case, day = _monitored(areas, actors)
    planned, local = assistance.plan_set(
        actor=actors.county_approver,
        case=case,
        items=[{"measure": "M0401"}, {"measure": "M0203", "department": None, "responsible_person": "王"}],
        now=at(day),
    )
    assistance.measure_start(actor=actors.county_approver, measure=local, now=at(day))
    return case, at(day + dt.timedelta(days=1))


def _finished_measures(areas, actors):
    case, now = _with_measures(areas, actors)
    first, second = case.measures.order_by("id")
    assistance.measure_complete(actor=actors.county_approver, measure=second, actual_date=now.date(), now=now)
    assistance.measure_stop(actor=actors.county_approver, measure=first, reason="已外出务工", now=now)
    return case, now


def _exit(areas, actors):
    case, day = _monitored(areas, actors)
    exits.exit_propose(
        actor=actors.county_approver, case=case, mode="natural", override_reason="特批", now=at(day)
    )
    s = step(case, "home_verification", "exit")  # done: the exit's review is open
    cases.step_complete(actor=actors.cadre, step=s, data=step_data(s, day), now=at(day))
    return case, at(day + dt.timedelta(days=1))


def _provisional(areas, actors):
    case = open_case(_household(areas, actors), actors.cadre, d(3, 1), risk_type_codes=["05"])
    cases.case_green_channel(actor=actors.township_reviewer, case=case, reason="房屋倒塌", now=at(d(3, 1)))
    return case, at(d(3, 2))


def _at_approval(areas, actors):
    case = open_case(_household(areas, actors), actors.cadre, d(3, 1))
    day = run_procedure(case, actors, d(3, 2), until="county_approval")
    return case, at(day)


def _opened(areas, actors, risks=("01",)):
    return open_case(_household(areas, actors), actors.cadre, d(3, 1), risk_type_codes=risks), at(d(3, 1))


def _monitored_now(areas, actors, *, safety_net: bool = False):
    case, day = _monitored(areas, actors, safety_net=safety_net)
    return case, at(day)


#: stage → (case, now): the case built through the services, and when it is looked at.
STAGES = {
    "opened": _opened,
    "accident": lambda areas, actors: _opened(areas, actors, risks=("05",)),
    "reviewed": lambda areas, actors: (_reviewed(areas, actors), at(d(3, 3))),
    "notice_running": lambda areas, actors: (_noticed(areas, actors, objection=False), at(d(3, 5))),
    "objection": lambda areas, actors: (_noticed(areas, actors, objection=True), at(d(3, 5))),
    "notice_over": lambda areas, actors: (_noticed(areas, actors, objection=False), at(d(3, 9))),
    "at_approval": _at_approval,
    "monitored": _monitored_now,
    "safety_net": lambda areas, actors: _monitored_now(areas, actors, safety_net=True),
    "measures": _with_measures,
    "finished_measures": _finished_measures,
    "exit": _exit,
    "provisional": _provisional,
}


def _valid_plan(case: MonitoringCase) -> list[dict]:
    """The measures each of the case's risks must have (else one it may have)."""
    risks = plans.measure_options_for_case(case)
    codes = [m["code"] for risk in risks for m in risk["must"]] or [risks[0]["optional"][0]["code"]]
    return [{"measure": code, "responsible_person": "王"} for code in dict.fromkeys(codes)]


def _dispatch_kwargs(option: CaseOption, case: MonitoringCase, user, today: dt.date) -> dict:
    """Valid values for the option's action (what a person who may do it would send)."""
    kwargs = {"action": option.action, "reason": "测试原因"}
    if option.target == "step":
        kwargs["step_id"] = option.step_id
    if option.action == "complete":
        kwargs["data"] = step_data(CaseStep.objects.get(pk=option.step_id), today)
    elif option.action == "post_notice":
        kwargs["data"] = {"start_date": today}
    elif option.action == "propose_exit":
        county = user.has_role(Role.COUNTY_APPROVER)
        kwargs["data"] = {"mode": "natural", "override_reason": "特批" if county else ""}
    elif option.action == "set_plan":
        kwargs["data"] = {"items": _valid_plan(case)}
    elif option.action == "record_objection":
        notice = PublicNotice.objects.get(pk=option.target_id)
        kwargs["data"] = {"notice": notice.pk, "raised_on": notice.start_date, "content": "有异议"}
    elif option.action == "resolve_objection":
        kwargs["data"] = {"objection": option.target_id, "upheld": False, "finding": "经核实不成立"}
    elif option.target == "measure":
        kwargs["data"] = {"measure": option.target_id, "actual_date": today}
    return kwargs


class _Undo(Exception):
    """Raised after a successful try, to roll it back."""


def _try(option: CaseOption, case: MonitoringCase, user, now) -> Exception | None:
    """Dispatch the option as ``user`` would; what the service said (``None``: done), undone."""
    case = MonitoringCase.objects.select_related("household").get(pk=case.pk)
    kwargs = _dispatch_kwargs(option, case, user, now.date())
    try:
        with transaction.atomic():
            dispatch.run(user=user, case=case, now=now, **kwargs)
            raise _Undo
    except _Undo:
        return None
    except (ServiceError, ValidationError) as exc:
        return exc


def _message(exc: Exception) -> str:
    return str(exc.message) if isinstance(exc, ServiceError) else "；".join(exc.messages)


def _check_allowed(option: CaseOption, outcome: Exception | None) -> None:
    """Done, or refused only by what the option does not promise: the exit proposal's
    eligibility (the exit page's checklist) or the plan's catalogue rules (the plan page's)."""
    if outcome is None:
        return
    eligibility = isinstance(outcome, InvalidTransition) and "criteria" in outcome.fields
    plan_rules = isinstance(outcome, ValidationError) and set(outcome.message_dict) == {"plan"}
    assert (option.action, True) in {("propose_exit", eligibility), ("set_plan", plan_rules)}, (
        option,
        _message(outcome),
    )


def _check_disabled(option: CaseOption, outcome: Exception | None) -> None:
    assert isinstance(outcome, NotAllowed | InvalidTransition), (option, outcome)
    waiting = option.target == "step" and CaseStep.objects.get(pk=option.step_id).status == StepStatus.WAITING
    if waiting and isinstance(outcome, InvalidTransition):
        # the transition table refuses a waiting step; the option names what it waits for
        assert _message(outcome) == transitions.transition_error(
            transitions.STEP_TRANSITIONS, "complete", StepStatus.WAITING, lambda s: StepStatus(s).label
        )
        assert option.reason.startswith("须待以下步骤完成：")
        return
    assert _message(outcome) == option.reason, option


@pytest.mark.parametrize("stage", list(STAGES))
def test_each_option_is_what_the_service_does(stage, areas, actors, people):
    case, now = STAGES[stage](areas, actors)
    seen_allowed = seen_disabled = 0
    for name, user in people.items():
        options = case_actions(MonitoringCase.objects.get(pk=case.pk), user, now=now)
        assert options, (stage, name)
        for option in options:
            outcome = _try(option, case, user, now)
            if option.allowed:
                assert option.reason == ""
                _check_allowed(option, outcome)
                seen_allowed += 1
            else:
                assert option.reason
                _check_disabled(option, outcome)
                seen_disabled += 1
    assert seen_disabled
    if stage != "finished_measures":
        assert seen_allowed, stage


def test_options_are_typed_and_frozen(areas, actors, people):
    case, now = _with_measures(areas, actors)
    options = case_actions(case, people["county"], now=now)
    assert all(isinstance(o, CaseOption) for o in options)
    with pytest.raises(AttributeError):
        options[0].allowed = False  # frozen
    assert not hasattr(options[0], "__dict__")  # slots
    targets = {o.target for o in options}
    assert targets == {"case", "measure"}
    starts = [o for o in options if o.action == "measure_start"]
    assert [(o.target_id, o.allowed) for o in starts] == [
        (am.pk, am.status == "planned") for am in case.measures.order_by("id")
    ]
    plan = next(o for o in options if o.action == "set_plan")
    assert plan.allowed and plan.target == "case" and plan.target_id == case.pk


def test_the_api_list_is_the_workflow_part_of_the_options(areas, actors, people):
    case = _noticed(areas, actors, objection=True)
    now = at(d(3, 5))
    user = people["cadre"]
    options = case_actions(case, user, now=now)
    assert {o.target for o in options} >= {"step", "case", "notice", "objection"}
    listed = available_actions(case, user, now=now)
    assert listed == [
        {
            "action": o.action,
            "label": o.label,
            "step": o.step_id,
            "step_name": o.subject if o.target == "step" else "",
            "allowed": o.allowed,
            "reason": o.reason,
        }
        for o in options
        if o.action in WORKFLOW_ACTIONS
    ]
    assert [a["action"] for a in listed if a["step"] is None] == ["green_channel"]


def test_the_measure_options_agree_with_the_measure_services(areas, actors, people):
    """``assistance.measure_actions`` (the page's view) and ``check_measure_actor`` (the services')
    give the same person's reason before the status's."""
    case, _now = _finished_measures(areas, actors)
    done = case.measures.get(status="implemented")
    assert assistance.measure_actions(people["cadre"], done)["start"] == ROLE
    assert assistance.measure_actions(people["county"], done)["start"] == "该措施已落实，不能再变更。"
    with pytest.raises(NotAllowed, match=ROLE):
        assistance.measure_start(actor=people["cadre"], measure=done)
    assert transitions.measure_refusal(done.status, transitions.START) == "该措施已落实，不能再变更。"
