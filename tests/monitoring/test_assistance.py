"""Assistance plans and measures (monitoring.services.assistance)."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import Role
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    CountySettings,
    MeasureStatus,
    RiskType,
    StatusChange,
)
from monitoring.rules import deadlines
from monitoring.services import assistance
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

NOW = mf.at(dt.date(2026, 3, 1))


@pytest.fixture
def able_household(areas):
    return hf.household(areas["v11"], labour=("normal", "none"))


@pytest.fixture
def illness_case(able_household):
    return mf.case(able_household, risks=("01",))


def messages(exc_info, key):
    return exc_info.value.message_dict[key]


# --- plan_set -----------------------------------------------------------------------------------


def test_plan_set_saves_the_measures_with_their_departments(illness_case, county_approver):
    saved = assistance.plan_set(
        actor=county_approver,
        case=illness_case,
        items=[
            {"measure": "M0504", "planned_start": dt.date(2026, 3, 1), "planned_end": "2026-03-31"},
            {"measure_code": "M0101", "amount": "3000"},
        ],
        reason="因病致贫，签约医生并发展养殖",
        now=NOW,
    )
    assert [(m.measure.code, m.department.code, m.status) for m in saved] == [
        ("M0504", "health", "planned"),
        ("M0101", "agriculture", "planned"),
    ]
    assert saved[0].planned_end == dt.date(2026, 3, 31)
    assert str(saved[1].amount) == "3000.00"
    assert saved[0].created_by == county_approver
    changes = StatusChange.objects.filter(object_type="measure", case=illness_case)
    assert [(c.action, c.from_status, c.to_status, c.actor_id) for c in changes] == [
        ("plan", "", "planned", county_approver.pk),
        ("plan", "", "planned", county_approver.pk),
    ]
    assert changes[0].reason == "因病致贫，签约医生并发展养殖"
    assert changes[0].at == NOW


def test_measure_may_be_given_by_instance_or_id(illness_case, county_approver):
    saved = assistance.plan_set(
        actor=county_approver,
        case=illness_case,
        items=[{"measure": mf.measure("M0504")}, {"measure_id": mf.measure("M0101").pk}],
    )
    assert [m.measure.code for m in saved] == ["M0504", "M0101"]


def test_refused_plan_lists_every_rule_and_risk_and_saves_nothing(illness_case, county_approver):
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=illness_case, items=[{"measure": "M0201"}])
    assert messages(exc, "plan") == ["因病须有健康帮扶、社会帮扶或综合保障措施"]
    assert not AssistanceMeasure.objects.exists()
    assert not StatusChange.objects.exists()


def test_whole_plan_is_checked_existing_measures_included(able_household, county_approver):
    case = mf.case(able_household, risks=("01", "07"))
    assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0504"}, {"measure": "M0201"}])
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(
            actor=county_approver, case=case, items=[{"measure": "M0502"}, {"measure": "M0802"}]
        )
    assert messages(exc, "plan") == ["因务工就业不稳：禁选措施「特困人员救助供养」不能使用"]
    assert sorted(case.measures.values_list("measure__code", flat=True)) == ["M0201", "M0504"]


def test_a_plan_missing_a_measure_can_be_completed_by_a_later_plan_set(able_household, county_approver):
    case = mf.case(able_household, risks=("09",))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0601"}])
    assert messages(exc, "plan") == [
        "有劳动能力的户须至少有一项开发式帮扶措施（产业帮扶、就业帮扶、金融帮扶、公益岗位帮扶）"
    ]
    assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0601"}, {"measure": "M0401"}])
    assert case.measures.count() == 2


def test_household_unable_to_work_does_not_need_development(areas, county_approver):
    hh = hf.household(areas["v11"], labour=("none", "lost"))
    case = mf.case(hh, risks=("04",))
    assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0801"}])
    assert case.measures.count() == 1


def test_subtype_risk_follows_its_root(areas, county_approver):
    hh = hf.household(areas["v11"], labour=("none",))
    case = mf.case(hh, risks=("0201",), status=CaseStatus.PROVISIONAL, provisional_on=dt.date(2026, 2, 1))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M0803"}])
    assert messages(exc, "plan") == ["因自然灾害：缺少必选措施「受灾群众生活救助」"]


def test_stopped_measures_do_not_count(illness_case, county_approver):
    first = assistance.plan_set(
        actor=county_approver, case=illness_case, items=[{"measure": "M0504"}, {"measure": "M0101"}]
    )
    assistance.measure_stop(actor=county_approver, measure=first[0], reason="医生调离")
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=illness_case, items=[{"measure": "M0102"}])
    assert "因病须有健康帮扶、社会帮扶或综合保障措施" in messages(exc, "plan")
    # planning it again creates a new row next to the stopped one
    assistance.plan_set(actor=county_approver, case=illness_case, items=[{"measure": "M0504"}])
    assert illness_case.measures.filter(measure__code="M0504").count() == 2


def test_planning_a_measure_already_in_the_plan_updates_it(illness_case, county_approver):
    (first, _dev) = assistance.plan_set(
        actor=county_approver, case=illness_case, items=[{"measure": "M0504"}, {"measure": "M0101"}]
    )
    (again,) = assistance.plan_set(
        actor=county_approver,
        case=illness_case,
        items=[{"measure": "M0504", "planned_end": dt.date(2026, 4, 30), "responsible_person": "李医生"}],
        reason="延期",
    )
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.planned_end, again.responsible_person, again.department.code) == (
        dt.date(2026, 4, 30),
        "李医生",
        "health",
    )
    assert illness_case.measures.count() == 2
    replan = StatusChange.objects.get(action="replan")
    assert replan.data == {"measure": "M0504", "fields": ["planned_end", "responsible_person"]}


def test_measure_without_department_needs_a_responsible_person(areas, county_approver):
    hh = hf.household(areas["v11"], labour=("none",))
    case = mf.case(hh, risks=("99",))
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=case, items=[{"measure": "M1101"}])
    assert messages(exc, "items-0-department") == ["请指定责任部门或责任人。"]
    (m,) = assistance.plan_set(
        actor=county_approver, case=case, items=[{"measure": "M1101", "responsible_person": "村支书"}]
    )
    assert m.department is None and m.responsible_person == "村支书"


def test_department_may_be_chosen_instead_of_the_catalogue_one(illness_case, county_approver):
    (m, _d) = assistance.plan_set(
        actor=county_approver,
        case=illness_case,
        items=[{"measure": "M0504", "department": "medical_insurance"}, {"measure": "M0101"}],
    )
    assert m.department.code == "medical_insurance"


def test_item_errors_name_the_row_and_field(illness_case, county_approver):
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(
            actor=county_approver,
            case=illness_case,
            items=[
                {"measure": "NOPE"},
                {"measure": "M0504", "planned_start": "2026-03-10", "planned_end": "2026-03-01"},
                {"measure": "M0101", "amount": "-5"},
                {"measure": "M0102", "department": "no-such-department"},
                {"measure": "M0105", "colour": "red"},
            ],
        )
    errors = exc.value.message_dict
    assert errors["items-0-measure"] == ["措施目录中没有该措施。"]
    assert errors["items-1-planned_end"] == ["计划完成日期不能早于计划开始日期。"]
    assert errors["items-2-amount"] == ["金额不能为负数。"]
    assert errors["items-3-department"] == ["没有该责任部门。"]
    assert errors["items-4-colour"] == ["不能填写此项。"]
    assert not AssistanceMeasure.objects.exists()


def test_same_measure_twice_in_one_request_is_refused(illness_case, county_approver):
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(
            actor=county_approver, case=illness_case, items=[{"measure": "M0504"}, {"measure": "M0504"}]
        )
    assert "items-1-measure" in exc.value.message_dict


def test_empty_items_are_refused(illness_case, county_approver):
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(actor=county_approver, case=illness_case, items=[])
    assert "items" in exc.value.message_dict


def test_inactive_or_other_county_measures_are_refused(illness_case, county_approver, areas):
    from accounts.models import Area, AreaLevel
    from monitoring.models import Measure, MeasureCategory

    other = Area.objects.create(
        code="130728000000", name="怀安县", level=AreaLevel.COUNTY, parent=areas["city"]
    )
    Measure.objects.create(
        code="X1", name="别县措施", category=MeasureCategory.objects.get(code="100A45"), county=other
    )
    Measure.objects.filter(code="M0502").update(is_active=False)
    with pytest.raises(ValidationError) as exc:
        assistance.plan_set(
            actor=county_approver, case=illness_case, items=[{"measure": "X1"}, {"measure": "M0502"}]
        )
    assert exc.value.message_dict["items-0-measure"] == ["措施「别县措施」不属于本县措施目录。"]
    assert exc.value.message_dict["items-1-measure"] == ["措施「医疗救助」已停用。"]


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (CaseStatus.IDENTIFYING, False),
        (CaseStatus.PROVISIONAL, True),
        (CaseStatus.NOT_INCLUDED, False),
        (CaseStatus.MONITORED, True),
        (CaseStatus.SECURED_TRACKING, True),
        (CaseStatus.EXIT_IN_PROGRESS, False),
        (CaseStatus.ELIMINATED, False),
    ],
)
def test_plan_only_while_the_case_is_under_assistance(able_household, county_approver, status, allowed):
    case = mf.case(able_household, status=status, provisional_on=dt.date(2026, 1, 5))
    items = [{"measure": "M0504"}, {"measure": "M0101"}]
    if allowed:
        assistance.plan_set(actor=county_approver, case=case, items=items)
        assert case.measures.count() == 2
    else:
        with pytest.raises(InvalidTransition, match="不能制定或调整帮扶计划"):
            assistance.plan_set(actor=county_approver, case=case, items=items)


def test_who_may_plan(illness_case, cadre, township_reviewer, areas):
    items = [{"measure": "M0504"}, {"measure": "M0101"}]
    with pytest.raises(NotAllowed):
        assistance.plan_set(actor=cadre, case=illness_case, items=items)
    other_township = af.user(Role.TOWNSHIP_REVIEWER, areas["t2"])
    with pytest.raises(NotAllowed):
        assistance.plan_set(actor=other_township, case=illness_case, items=items)
    assistance.plan_set(actor=township_reviewer, case=illness_case, items=items)
    assert illness_case.measures.count() == 2


def test_the_system_may_plan(illness_case):
    saved = assistance.plan_set(
        actor=None, case=illness_case, items=[{"measure": "M0504"}, {"measure": "M0101"}]
    )
    assert saved[0].created_by is None


def test_measure_add_checks_the_whole_plan(illness_case, county_approver):
    assistance.plan_set(
        actor=county_approver, case=illness_case, items=[{"measure": "M0504"}, {"measure": "M0101"}]
    )
    m = assistance.measure_add(
        actor=county_approver, case=illness_case, measure="M0502", amount=500, planned_end=dt.date(2026, 5, 1)
    )
    assert (m.measure.code, m.department.code, str(m.amount)) == ("M0502", "medical_insurance", "500.00")
    illness_case.risk_types.add(RiskType.objects.get(code="07"))
    with pytest.raises(ValidationError) as exc:
        assistance.measure_add(actor=county_approver, case=illness_case, measure="M0802")
    assert messages(exc, "plan") == ["因务工就业不稳：禁选措施「特困人员救助供养」不能使用"]


def test_current_plan_violations(illness_case, county_approver):
    assert [v.rule for v in assistance.current_plan_violations(illness_case)] == [
        "empty",
        "requirement",
        "development",
    ]


# --- measure statuses -----------------------------------------------------------------------------

TABLE = {
    ("planned", "start"): "in_progress",
    ("planned", "complete"): "implemented",
    ("planned", "stop"): "stopped",
    ("in_progress", "start"): None,
    ("in_progress", "complete"): "implemented",
    ("in_progress", "stop"): "stopped",
    ("implemented", "start"): None,
    ("implemented", "complete"): None,
    ("implemented", "stop"): None,
    ("stopped", "start"): None,
    ("stopped", "complete"): None,
    ("stopped", "stop"): None,
}


def _measure_in(case, status, code="M0504"):
    return AssistanceMeasure.objects.create(
        case=case, measure=mf.measure(code), department=mf.measure(code).department, status=status
    )


def _do(action, actor, measure):
    if action == "start":
        return assistance.measure_start(actor=actor, measure=measure, now=NOW)
    if action == "complete":
        return assistance.measure_complete(
            actor=actor,
            measure=measure,
            actual_date=dt.date(2026, 2, 20),
            amount="120",
            note="已签约",
            now=NOW,
        )
    return assistance.measure_stop(actor=actor, measure=measure, reason="不再需要", now=NOW)


@pytest.mark.parametrize(("status", "action"), sorted(TABLE))
def test_every_status_and_action(illness_case, county_approver, status, action):
    measure = _measure_in(illness_case, status)
    expected = TABLE[(status, action)]
    if expected is None:
        with pytest.raises(InvalidTransition):
            _do(action, county_approver, measure)
        measure.refresh_from_db()
        assert measure.status == status
        assert not StatusChange.objects.filter(object_type="measure").exists()
    else:
        _do(action, county_approver, measure)
        measure.refresh_from_db()
        assert measure.status == expected
        change = StatusChange.objects.get(object_type="measure", object_id=measure.pk)
        assert (change.action, change.from_status, change.to_status, change.actor, change.case) == (
            action,
            status,
            expected,
            county_approver,
            illness_case,
        )
        assert change.at == NOW


def test_refusal_messages_say_why(illness_case, county_approver):
    done = _measure_in(illness_case, MeasureStatus.IMPLEMENTED)
    with pytest.raises(InvalidTransition, match="该措施已落实，不能再变更。"):
        assistance.measure_stop(actor=county_approver, measure=done, reason="x")
    going = _measure_in(illness_case, MeasureStatus.IN_PROGRESS, "M0502")
    with pytest.raises(InvalidTransition, match="该措施已在实施中。"):
        assistance.measure_start(actor=county_approver, measure=going)


def test_complete_records_date_amount_and_note(illness_case, county_approver):
    m = _measure_in(illness_case, MeasureStatus.IN_PROGRESS)
    _do("complete", county_approver, m)
    m.refresh_from_db()
    assert (m.actual_date, str(m.amount), m.note) == (dt.date(2026, 2, 20), "120.00", "已签约")
    change = StatusChange.objects.get(object_type="measure")
    assert change.data == {"actual_date": "2026-02-20", "amount": "120.00"}


def test_complete_refuses_bad_input(illness_case, county_approver):
    m = _measure_in(illness_case, MeasureStatus.PLANNED)
    with pytest.raises(ValidationError) as exc:
        assistance.measure_complete(
            actor=county_approver, measure=m, actual_date=dt.date(2026, 3, 2), amount="-1", now=NOW
        )
    assert exc.value.message_dict == {
        "actual_date": ["实际落实日期不能晚于今天。"],
        "amount": ["金额不能为负数。"],
    }
    with pytest.raises(ValidationError) as exc:
        assistance.measure_complete(actor=county_approver, measure=m, actual_date=None, now=NOW)
    assert exc.value.message_dict == {"actual_date": ["请填写实际落实日期。"]}
    with pytest.raises(ValidationError) as exc:
        assistance.measure_complete(
            actor=county_approver, measure=m, actual_date=dt.date(2025, 1, 1), now=NOW
        )
    assert "不能早于发现风险日期" in exc.value.message_dict["actual_date"][0]
    m.refresh_from_db()
    assert m.status == MeasureStatus.PLANNED


def test_stop_needs_a_reason(illness_case, county_approver):
    m = _measure_in(illness_case, MeasureStatus.PLANNED)
    with pytest.raises(ValidationError) as exc:
        assistance.measure_stop(actor=county_approver, measure=m, reason="  ")
    assert exc.value.message_dict == {"reason": ["请填写原因。"]}


# --- departments' tasks ------------------------------------------------------------------------


def test_a_department_completes_its_own_task_but_not_another_departments(illness_case, areas):
    health = mf.department_user("health", areas["county"])
    water = mf.department_user("water", areas["county"])
    task = _measure_in(illness_case, MeasureStatus.PLANNED, "M0504")  # 卫生健康局
    with pytest.raises(NotAllowed, match="该任务不属于您的部门。"):
        assistance.measure_complete(actor=water, measure=task, actual_date=dt.date(2026, 2, 20), now=NOW)
    with pytest.raises(NotAllowed):
        assistance.measure_start(actor=water, measure=task, now=NOW)
    assistance.measure_start(actor=health, measure=task, now=NOW)
    assistance.measure_complete(actor=health, measure=task, actual_date=dt.date(2026, 2, 20), now=NOW)
    task.refresh_from_db()
    assert task.status == MeasureStatus.IMPLEMENTED
    assert StatusChange.objects.filter(object_type="measure", actor=health).count() == 2


def test_a_department_cannot_stop_a_task(illness_case, areas):
    health = mf.department_user("health", areas["county"])
    task = _measure_in(illness_case, MeasureStatus.PLANNED, "M0504")
    with pytest.raises(NotAllowed):
        assistance.measure_stop(actor=health, measure=task, reason="做不了")


def test_a_department_user_without_department_cannot_act(illness_case, areas):
    nobody = af.user(Role.DEPARTMENT, areas["county"])
    task = _measure_in(illness_case, MeasureStatus.PLANNED, "M1101")
    task.department = None
    task.save()
    with pytest.raises(NotAllowed):
        assistance.measure_start(actor=nobody, measure=task)


def test_township_staff_act_only_on_measures_no_department_owns(
    illness_case, township_reviewer, cadre, areas
):
    owned = _measure_in(illness_case, MeasureStatus.PLANNED, "M0504")
    local = AssistanceMeasure.objects.create(
        case=illness_case, measure=mf.measure("M1101"), responsible_person="村支书"
    )
    with pytest.raises(NotAllowed, match="卫生健康局"):
        assistance.measure_complete(
            actor=township_reviewer, measure=owned, actual_date=dt.date(2026, 2, 1), now=NOW
        )
    assistance.measure_complete(
        actor=township_reviewer, measure=local, actual_date=dt.date(2026, 2, 1), now=NOW
    )
    assistance.measure_stop(actor=township_reviewer, measure=owned, reason="调整计划")
    with pytest.raises(NotAllowed):
        assistance.measure_start(actor=cadre, measure=local)
    other_county = af.user(Role.COUNTY_APPROVER, areas["t2"])  # wrong area for this case
    with pytest.raises(NotAllowed):
        assistance.measure_stop(actor=other_county, measure=owned, reason="x")


def test_measure_actions_for_a_page(illness_case, areas, county_approver):
    health = mf.department_user("health", areas["county"])
    task = _measure_in(illness_case, MeasureStatus.IN_PROGRESS, "M0504")
    assert assistance.measure_actions(health, task) == {
        "start": "该措施已在实施中。",
        "complete": None,
        "stop": "部门不能终止帮扶措施，请与县级审定人员联系。",
    }
    assert assistance.measure_actions(county_approver, task) == {
        "start": "该措施已在实施中。",
        "complete": None,
        "stop": None,
    }


# --- the one-month deadline ------------------------------------------------------------------------


@pytest.fixture
def county_settings(db):
    return CountySettings.objects.get(county__isnull=True)


def test_measure_deadline_boundaries(illness_case, county_settings):
    # identified 2026-01-10, 30 days → due 2026-02-09
    on_due_day = assistance.measure_deadline(illness_case, county_settings, mf.at(dt.date(2026, 2, 9)))
    assert (on_due_day.state, on_due_day.due, on_due_day.days_left) == (
        deadlines.State.DUE_SOON,
        dt.date(2026, 2, 9),
        0,
    )
    after = assistance.measure_deadline(illness_case, county_settings, mf.at(dt.date(2026, 2, 10)))
    assert after.state is deadlines.State.OVERDUE
    assert after.days_left == -1
    early = assistance.measure_deadline(illness_case, county_settings, mf.at(dt.date(2026, 1, 20)))
    assert early.state is deadlines.State.ON_TIME


def test_measure_deadline_uses_shanghai_day(illness_case, county_settings):
    # 2026-02-09 16:30 UTC is 2026-02-10 00:30 in Shanghai: overdue
    late = dt.datetime(2026, 2, 9, 16, 30, tzinfo=dt.UTC)
    assert assistance.measure_deadline(illness_case, county_settings, late).state is deadlines.State.OVERDUE


def test_measure_in_place_meets_the_deadline(illness_case, county_settings):
    m = _measure_in(illness_case, MeasureStatus.PLANNED)
    now = mf.at(dt.date(2026, 3, 1))
    assert assistance.measure_deadline(illness_case, county_settings, now).state is deadlines.State.OVERDUE
    m.status = MeasureStatus.IN_PROGRESS
    m.save()
    assert assistance.measure_deadline(illness_case, county_settings, now).state is deadlines.State.DONE
    m.status = MeasureStatus.IMPLEMENTED
    m.save()
    assert assistance.measure_deadline(illness_case, county_settings, now).state is deadlines.State.DONE


def test_measure_deadline_follows_the_county_setting(illness_case, county_settings):
    county_settings.measure_deadline_days = 10
    dl = assistance.measure_deadline(illness_case, county_settings, mf.at(dt.date(2026, 1, 21)))
    assert (dl.state, dl.due) == (deadlines.State.OVERDUE, dt.date(2026, 1, 20))


def test_green_channel_counts_from_the_provisional_date(able_household, county_settings):
    case = mf.case(able_household, status=CaseStatus.PROVISIONAL, provisional_on=dt.date(2026, 2, 1))
    dl = assistance.measure_deadline(case, county_settings, mf.at(dt.date(2026, 3, 4)))
    assert (dl.state, dl.due) == (deadlines.State.OVERDUE, dt.date(2026, 3, 3))


@pytest.mark.parametrize("status", [CaseStatus.IDENTIFYING, CaseStatus.NOT_INCLUDED, CaseStatus.ELIMINATED])
def test_no_measure_deadline_outside_assistance(able_household, county_settings, status):
    case = mf.case(able_household, status=status)
    assert assistance.measure_deadline(case, county_settings, NOW).state is deadlines.State.NONE
