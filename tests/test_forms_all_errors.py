"""Every page form reports all field errors of one submission together, and writes nothing.

The forms are enumerated from the code (every subclass of the page form bases), so a new
form fails :func:`test_every_page_form_is_covered` until it gets a case here. Each case posts
a payload with two or more independently invalid fields (some caught by the form, some only
by the service) and checks that every one of them shows its error in the one response.
A form with fewer than two fields a person fills in is listed in ``FEW_FIELDS`` with its one
field, and checked the same way.
"""

from __future__ import annotations

import datetime as dt
import inspect

import pytest
from django.utils import timezone

from households import forms as household_forms
from households.models import Helper, HelperAssignment, Household, IncomeRecord, Person
from monitoring import forms as monitoring_forms
from monitoring.models import (
    AssistanceMeasure,
    Clue,
    ClueStatus,
    MonitoringCase,
    Objection,
    PointsEntry,
    PublicNotice,
    StatusChange,
    StepStatus,
    TaskRun,
    Visit,
)
from monitoring.pages import periodic
from monitoring.rules import deadlines
from monitoring.services import assistance, cases
from tests.households import factories as hf
from tests.monitoring.helpers import at, run_procedure, step
from tests.monitoring.test_case_pages import alert, identified_case, measure_id, open_case, plan_post

TODAY = deadlines.local_date(timezone.now())
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()

#: the classes every page form derives from, and the abstract ones among them
BASES = (monitoring_forms.PageForm, household_forms.PageFormMixin)
ABSTRACT = {monitoring_forms.CaseActionForm, household_forms._PageModelForm}  # noqa: SLF001


def page_form_classes() -> set[type]:
    found: set[type] = set()
    for module in (household_forms, monitoring_forms, periodic):
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BASES) and obj not in BASES and obj not in ABSTRACT:
                found.add(obj)
    return found


def field_errors(response, form_key: str = "form") -> dict:
    form = response.context[form_key]
    return {name: list(errors) for name, errors in form.errors.items()}


def assert_all_shown(response, fields: set[str], *, form_key: str = "form"):
    assert response.status_code in (200, 400, 409), response.status_code
    errors = field_errors(response, form_key)
    missing = fields - set(errors)
    assert not missing, f"not shown together: {missing}; shown: {errors}"
    html = response.content.decode()
    for name in fields:
        for message in errors[name]:
            assert str(message) in html, (name, message)


def count(*models) -> tuple[int, ...]:
    return tuple(m.objects.count() for m in models)


# --- the registry's forms --------------------------------------------------------------------


def household_create(client, actors, household):
    client.force_login(actors.cadre)
    before = count(Household)
    response = client.post(
        "/households/new/",
        {
            "number": household.number,  # taken (the service)
            "village": household.village_id,
            "phone": "1234567",  # not a phone number (the service)
            "cultivated_land_mu": "abc",  # not a number (the form)
            "household_type": "rich",  # not a choice (the form)
            "housing_grade": "A",
        },
    )
    assert_all_shown(response, {"number", "phone", "cultivated_land_mu", "household_type"})
    assert count(Household) == before


def household_edit(client, actors, household):
    client.force_login(actors.cadre)
    response = client.post(
        f"/households/{household.pk}/edit/",
        {
            "village": household.village_id,
            "phone": "12",
            "monitoring_contact_phone": "0313-12",
            "cultivated_land_mu": "-3",
            "household_type": "ordinary",
            "housing_grade": "Z",
        },
    )
    assert_all_shown(response, {"phone", "monitoring_contact_phone", "cultivated_land_mu", "housing_grade"})
    html = response.content.decode()
    assert "面积不能为负数" in html and "金额不能为负数" not in html
    household.refresh_from_db()
    assert household.phone != "12"


def member_add(client, actors, household):
    client.force_login(actors.cadre)
    before = count(Person)
    response = client.post(
        f"/households/{household.pk}/members/new/",
        {
            "name": "",  # required (the form)
            "id_number": "123",  # not an ID number (the service)
            "relation": "other",
            "health_status": "healthy",
            "labour_capacity": "normal",
            "school_grade": "x",  # not a number (the form)
            "ethnicity": "汉族",
        },
    )
    assert_all_shown(response, {"name", "id_number", "school_grade"})
    assert count(Person) == before


def member_edit(client, actors, household):
    client.force_login(actors.cadre)
    person = household.members.first()
    response = client.post(
        f"/households/{household.pk}/members/{person.pk}/edit/",
        {
            "name": person.name,
            "id_number": "1307271990",
            "relation": "king",
            "health_status": "healthy",
            "labour_capacity": "normal",
        },
    )
    assert_all_shown(response, {"id_number", "relation"})


def income(client, actors, household):
    client.force_login(actors.cadre)
    before = count(IncomeRecord)
    response = client.post(
        f"/households/{household.pk}/income/",
        {"year": "1999", "wages": "-1", "transfer": "abc", "recorded_on": "not a date"},
    )
    assert_all_shown(response, {"year", "wages", "transfer", "recorded_on"})
    assert "2000" in " ".join(field_errors(response)["year"])  # the reason, not just "wrong"
    assert count(IncomeRecord) == before


# --- visits and clues ------------------------------------------------------------------------


def visit(client, actors, household):
    client.force_login(actors.cadre)
    before = count(Visit, Clue)
    response = client.post(
        f"/households/{household.pk}/visit/",
        {
            "visited_on": TOMORROW,  # in the future (the service)
            "wages": "-5",  # negative (the service)
            "amount": "abc",  # not a number (the form)
            "raise_clue": "on",  # without a risk type (the service)
            "notes": "屋顶漏雨",
        },
    )
    assert_all_shown(response, {"visited_on", "wages", "amount", "risk_type_codes"})
    assert "屋顶漏雨" in response.content.decode()
    assert count(Visit, Clue) == before


def clue_report(client, actors, household):
    client.force_login(actors.cadre)
    before = count(Clue, MonitoringCase)
    response = client.post(
        f"/households/{household.pk}/clue/",
        {"channel": "self_report", "found_date": TOMORROW, "amount": "abc", "description": "因病"},
    )
    assert_all_shown(response, {"found_date", "amount", "risk_type_codes"})
    assert count(Clue, MonitoringCase) == before


def clue_dismiss(client, actors, household):
    clue = alert(actors.county_approver, n=1)
    client.force_login(actors.county_approver)
    response = client.post(f"/clues/{clue.pk}/dismiss/", {"token": "cd-1", "reason": "", "note": "x" * 301})
    assert_all_shown(response, {"reason", "note"}, form_key="dismiss_form")
    clue.refresh_from_db()
    assert clue.status != ClueStatus.DISMISSED


def clue_bulk(client, actors, household):
    alert(actors.county_approver, n=1)
    client.force_login(actors.county_approver)
    response = client.post(
        "/clues/bulk/", {"token": "cb-1", "bulk_action": "dismiss", "reason": ""}, follow=True
    )
    html = response.content.decode()
    assert "请至少勾选一条线索" in html and "批量排除须先选择排除原因" in html
    assert not Clue.objects.filter(status=ClueStatus.DISMISSED).exists()


# --- the case page's action forms --------------------------------------------------------------


def act(client, case, **fields):
    data = {"expected_version": MonitoringCase.objects.get(pk=case.pk).version, **fields}
    return client.post(f"/cases/{case.pk}/", data)


def action_errors(response) -> dict:
    bound = [
        r["form"]
        for rows in ("step_actions", "case_actions", "notice_actions", "objection_actions")
        for r in response.context[rows]
        if r.get("form") is not None and r["form"].is_bound
    ]
    assert bound, "the posted form is not on the page"
    return {name: list(e) for name, e in bound[0].errors.items()}


def assert_action_errors(response, fields: set[str]):
    assert response.status_code in (200, 400, 409)
    assert response.request["PATH_INFO"].endswith("/") and "/act/" not in response.request["PATH_INFO"]
    errors = action_errors(response)
    assert fields <= set(errors), errors
    html = response.content.decode()
    for name in fields:
        for message in errors[name]:
            assert str(message) in html


def home_verification(client, actors, household):
    case = open_case(household, actors.cadre)
    client.force_login(actors.cadre)
    s = step(case, "home_verification")
    before = count(StatusChange)
    response = act(
        client, case, token="hv", action="complete", step=s.pk, visited_on=TOMORROW, visitors="", findings=""
    )
    # the date (future), the visitors (none), the signed authorisation (missing), together
    assert_action_errors(response, {"visited_on", "visitors", "authorization_signed"})
    assert count(StatusChange) == before


def _at_step(household, actors, code):
    case = open_case(household, actors.cadre, found=TODAY - dt.timedelta(days=12))
    run_procedure(case, actors, TODAY - dt.timedelta(days=11), until=code)
    case.refresh_from_db()
    assert step(case, code).status == StepStatus.AVAILABLE
    return case


def village_review(client, actors, household):
    case = _at_step(household, actors, "village_review")
    client.force_login(actors.cadre)
    s = step(case, "village_review")
    response = act(
        client,
        case,
        token="vr",
        action="complete",
        step=s.pk,
        held_on="not a date",
        attendees="-1",
        votes_for="x",
        minutes="",
    )
    assert_action_errors(response, {"held_on", "attendees", "votes_for"})
    assert step(case, "village_review").status == StepStatus.AVAILABLE


def _with_notice(household, actors):
    case = _at_step(household, actors, "village_notice")
    s = step(case, "village_notice")
    cases.notice_post(actor=actors.cadre, step=s, start_date=TODAY, now=at(TODAY))
    case.refresh_from_db()
    return case, PublicNotice.objects.get(step=s)


def objection(client, actors, household):
    case, notice = _with_notice(household, actors)
    client.force_login(actors.cadre)
    response = act(
        client, case, token="ob", action="record_objection", notice=notice.pk, raised_on="", content=""
    )
    assert_action_errors(response, {"raised_on", "content"})
    assert not Objection.objects.exists()


def resolve_objection(client, actors, household):
    case, notice = _with_notice(household, actors)
    raised = cases.objection_record(
        actor=actors.cadre, notice=notice, raised_on=TODAY, content="有经营性收入", now=at(TODAY)
    )
    client.force_login(actors.cadre)
    response = act(
        client, case, token="ro", action="resolve_objection", objection=raised.pk, upheld="7", finding=""
    )
    assert_action_errors(response, {"upheld", "finding"})
    raised.refresh_from_db()
    assert raised.resolved_by_id is None


def county_approval(client, actors, household):
    from tests.monitoring.test_case_pages import case_at_approval

    case = case_at_approval(household, actors)
    client.force_login(actors.county_approver)
    s = step(case, "county_approval")
    response = act(
        client, case, token="ca", action="complete", step=s.pk, category="nobody", opinion="x" * 5000
    )
    assert_action_errors(response, {"category"})
    assert step(case, "county_approval").status == StepStatus.AVAILABLE


def measure_complete(client, actors, household):
    case = identified_case(household, actors)
    (measure,) = assistance.plan_set(
        actor=actors.county_approver, case=case, items=[{"measure": "M0203", "responsible_person": "王"}]
    )
    client.force_login(actors.county_approver)
    act(client, case, token="ms", action="measure_start", measure=measure.pk)
    response = act(
        client, case, token="mc", action="measure_complete", measure=measure.pk, actual_date="", amount="abc"
    )
    errors = {}
    for row in response.context["measure_rows"]:
        for f in row["forms"]:
            if f.get("form") is not None and f["form"].is_bound:
                errors = {n: list(e) for n, e in f["form"].errors.items()}
    assert {"actual_date", "amount"} <= set(errors), errors


# --- the plan, the exit, the task runs ---------------------------------------------------------


def plan(client, actors, household):
    case = identified_case(household, actors)
    client.force_login(actors.county_approver)
    response = plan_post(
        client,
        case,
        [
            {"measure": measure_id("M0203"), "planned_start": "x", "amount": "abc"},
            {"measure": measure_id("M0401"), "planned_end": "y"},
        ],
    )
    assert response.status_code in (200, 400)
    formset = response.context["formset"]
    shown = [set(f.errors) for f in formset.forms[:2]]
    assert {"planned_start", "amount"} <= shown[0] and "planned_end" in shown[1], shown
    assert not AssistanceMeasure.objects.filter(case=case).exists()


def exit_proposal(client, actors, household):
    case = identified_case(household, actors)
    client.force_login(actors.county_approver)
    response = client.post(
        f"/cases/{case.pk}/exit/",
        {"token": "ex", "mode": "teleport", "override_reason": "x" * 5, "expected_version": "abc"},
    )
    assert_all_shown(response, {"mode", "expected_version"})
    case.refresh_from_db()
    assert case.status != "exiting"


def run_start(client, actors, household):
    client.force_login(actors.county_approver)
    before = count(TaskRun)
    response = client.post(
        "/runs/start/", {"token": "rs", "task": "no_such_task", "area_code": "999999999999"}
    )
    assert_all_shown(response, {"task", "area_code"})
    assert count(TaskRun) == before


def points_award(client, actors, household):
    client.force_login(actors.cadre)
    before = count(PointsEntry)
    response = client.post(
        f"/households/{household.pk}/points/",
        {
            "action": "award",
            "award-conduct": "X99",  # not on the list (the form)
            "award-awarded_on": TOMORROW,  # in the future (the service)
            "award-reason": "",  # required (the service)
            "award-panel": "张三",  # one member (the service)
        },
    )
    assert_all_shown(response, {"conduct", "awarded_on", "reason", "panel"}, form_key="award_form")
    assert count(PointsEntry) == before


def points_redeem(client, actors, household):
    client.force_login(actors.cadre)
    before = count(PointsEntry)
    response = client.post(
        f"/households/{household.pk}/points/",
        {
            "action": "redeem",
            "redeem-item": "G04",  # fine, but nothing to pay with
            "redeem-quantity": "many",  # not a number (the form)
            "redeem-redeemed_on": "2026-02-30",  # not a date (the form)
        },
    )
    assert_all_shown(response, {"quantity", "redeemed_on"}, form_key="redeem_form")
    response = client.post(
        f"/households/{household.pk}/points/",
        {"action": "redeem", "redeem-item": "", "redeem-quantity": "0", "redeem-redeemed_on": "2001-01-01"},
    )
    assert_all_shown(response, {"item", "quantity", "redeemed_on"}, form_key="redeem_form")
    assert count(PointsEntry) == before


def pairing(client, actors, household):
    client.force_login(actors.township_reviewer)
    before = count(HelperAssignment)
    response = client.post(
        "/helpers/",
        {
            "confirm": "1",
            "area": "",  # no area (the service)
            "limit": "x",  # not a number (the form)
            "start_date": "2001-01-01",  # too far back (the service)
        },
    )
    assert_all_shown(response, {"area", "limit", "start_date"})
    assert count(HelperAssignment) == before


def helper_leave(client, actors, household):
    helper = Helper.objects.create(
        name="离岗人", county=household.village.parent.parent, village=household.village
    )
    client.force_login(actors.township_reviewer)
    response = client.post(
        f"/helpers/{helper.pk}/",
        {"left_on": TOMORROW.replace("-", "/") + "x", "reason": "", "limit": "99"},
    )
    assert_all_shown(response, {"left_on", "reason", "limit"})
    helper.refresh_from_db()
    assert helper.left_on is None


def call_close(client, actors, household):
    from monitoring.models import CallStatus, EmergencyCall
    from monitoring.services.calls import call_raise

    call, _created = call_raise(actor=actors.cadre, household=household)
    client.force_login(actors.cadre)
    before = count(Clue)
    response = client.post(
        f"/calls/{call.pk}/close/",
        {"outcome": "", "raise_clue": "on", "description": "x\x00"},  # empty (form), no risk type (service)
    )
    assert_all_shown(response, {"outcome", "risk_type_codes"}, form_key="close_form")
    call.refresh_from_db()
    assert call.status == CallStatus.OPEN and count(Clue) == before
    assert EmergencyCall.objects.count() == 1


CASES = {
    monitoring_forms.PairingForm: [pairing],
    monitoring_forms.HelperLeaveForm: [helper_leave],
    monitoring_forms.PointsAwardForm: [points_award],
    monitoring_forms.PointsRedeemForm: [points_redeem],
    household_forms.HouseholdPageForm: [household_create, household_edit],
    household_forms.PersonPageForm: [member_add, member_edit],
    household_forms.IncomePageForm: [income],
    monitoring_forms.VisitForm: [visit],
    monitoring_forms.ClueReportForm: [clue_report],
    monitoring_forms.ClueDismissForm: [clue_dismiss],
    monitoring_forms.ClueBulkForm: [clue_bulk],
    monitoring_forms.HomeVerificationForm: [home_verification],
    monitoring_forms.VillageReviewForm: [village_review],
    monitoring_forms.ObjectionForm: [objection],
    monitoring_forms.ResolveObjectionForm: [resolve_objection],
    monitoring_forms.CountyApprovalForm: [county_approval],
    monitoring_forms.MeasureCompleteForm: [measure_complete],
    monitoring_forms.PlanForm: [plan],
    monitoring_forms.ExitProposeForm: [exit_proposal],
    periodic.RunStartForm: [run_start],
    monitoring_forms.CallCloseForm: [call_close],
}

#: forms with at most one field a person fills in: nothing to show "together"; their one
#: field's message is checked by the pages' own tests (tests/monitoring/test_case_pages.py)
FEW_FIELDS = {
    monitoring_forms.ClueMatchForm: "household (hidden, chosen from the list)",
    monitoring_forms.ClueOpenForm: "no field",
    monitoring_forms.ReasonForm: "reason",
    monitoring_forms.DataComparisonForm: "findings",
    monitoring_forms.NoticeCompleteForm: "note",
    monitoring_forms.OpinionForm: "opinion",
    monitoring_forms.ExitApprovalForm: "opinion",
    monitoring_forms.NoticePostForm: "start_date",
    monitoring_forms.MeasureStartForm: "no field (the measure is hidden)",
    monitoring_forms.MeasureStopForm: "reason",
    monitoring_forms.CallRaiseForm: "note",
}


def test_every_page_form_is_covered():
    forms = page_form_classes()
    assert monitoring_forms.VisitForm in forms and household_forms.HouseholdPageForm in forms
    uncovered = {f.__name__ for f in forms - set(CASES) - set(FEW_FIELDS)}
    assert not uncovered, f"page forms without an all-errors case here: {sorted(uncovered)}"


@pytest.mark.parametrize("case", [c for cases_ in CASES.values() for c in cases_], ids=lambda c: c.__name__)
def test_all_field_errors_of_one_submission_show_together(case, client, actors, areas):
    household = hf.household(areas["v11"], members=2, actor=actors.cadre, labour=("normal",))
    case(client, actors, household)


def test_a_match_that_does_not_parse_is_refused_not_a_500(client, actors):
    clue = alert(actors.county_approver, n=1)
    client.force_login(actors.county_approver)
    response = client.post(f"/clues/{clue.pk}/match/", {"token": "cm-1", "household": "abc"})
    assert response.status_code == 200
    assert "household" in response.context["match_form"].errors
    other = client.post(f"/clues/{clue.pk}/dismiss/", {"token": "cm-2", "reason": "other", "note": "x" * 301})
    assert other.status_code == 200
