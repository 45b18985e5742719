"""The household page, the helper's households and the visit form (monitoring/views_visits.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from households import idnumber
from households import services as household_services
from monitoring.models import CaseStatus, Clue, ClueStatus, MonitoringCase, Visit
from monitoring.services import visits as visit_services
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

TODAY = timezone.localdate()


@pytest.fixture
def household(areas, cadre):
    """Registered 200 days ago, with the phone number that a visit corrects below."""
    hh = hf.household(areas["v11"], members=2, actor=cadre, phone="13812345678")
    return hf.registered_on(hh, TODAY - dt.timedelta(days=200))


@pytest.fixture
def helper_user(helper_user, household):
    """The household's helper for the last 100 days."""
    hf.assign(helper_user, household, TODAY - dt.timedelta(days=100))
    return helper_user


@pytest.fixture
def monitored(household):
    return mf.case(household, identified_on=TODAY - dt.timedelta(days=60), risks=("01", "07"))


def _visit_data(**overrides) -> dict:
    data = {
        "visited_on": TODAY.isoformat(),
        "wages": "1500",
        "business": "",
        "property_income": "",
        "transfer": "300",
        "business_expenditure": "",
        "medical_spending": "800",
        "food_clothing_secure": "on",
        "compulsory_education_secure": "on",
        "medical_insurance_secure": "on",
        "drinking_water_secure": "on",
        "needs": "屋顶漏雨，需要维修",
        "notes": "户主慢性病，按时服药",
    }
    data.update(overrides)
    return data


def _token(response) -> str:
    return response.context["form"]["submit_token"].value()


# --- sign-in and scope -------------------------------------------------------------------------


ID_PAGES = ["/households/{pk}/", "/households/{pk}/visit/", "/households/{pk}/visits/"]


@pytest.mark.parametrize("page", ID_PAGES)
def test_every_page_with_an_id_is_404_outside_the_village(cadre_client, other_household, page):
    url = page.format(pk=other_household.pk)
    assert cadre_client.get(url).status_code == 404
    assert cadre_client.post(url, _visit_data()).status_code in (404, 405)
    assert not Visit.objects.exists()


@pytest.mark.parametrize("page", [*ID_PAGES, "/households/mine/"])
def test_sign_in_is_required(client, household, page):
    response = client.get(page.format(pk=household.pk))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_a_helper_sees_only_assigned_households(client, areas, helper_user, household, other_household):
    client.force_login(helper_user)
    assert client.get(f"/households/{household.pk}/").status_code == 200
    assert client.get(f"/households/{other_household.pk}/").status_code == 404
    assert client.get(f"/households/{other_household.pk}/visit/").status_code == 404


def test_a_department_user_sees_no_household(client, areas, household):
    from accounts.models import Department

    user = af.user(Role.DEPARTMENT, areas["county"], department=Department.objects.first())
    client.force_login(user)
    assert client.get(f"/households/{household.pk}/").status_code == 404


# --- the household page ------------------------------------------------------------------------


def test_household_page_shows_everything(cadre_client, cadre, household, monitored, helper_user):
    household_services.income_record_set(
        actor=cadre, household=household, year=2025, wages=10000, transfer=2000
    )  # 6000 per person, under the 2025 line of 8800
    household_services.household_update(
        actor=cadre, household=household, phone="13900000000", reason="更正电话"
    )
    visit_services.visit_record(
        actor=helper_user, household=household, visited_on=TODAY - dt.timedelta(days=3), needs="需要就业岗位"
    )
    response = cadre_client.get(f"/households/{household.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    head = household.head
    # members, in full for a village cadre
    assert head.name in body and head.id_number in body
    # income against the year's line
    assert "6000.00" in body and "8800" in body and "低于监测线" in body
    # guarantees, risks, cases, visits, helpers
    assert "饮水安全有保障" in body
    assert "因病" in body and "因务工就业不稳" in body
    assert f'href="/cases/{monitored.pk}/"' in body
    assert "需要就业岗位" in body and "王帮扶" in body
    # buttons
    assert f'href="/households/{household.pk}/visit/"' in body
    assert f'href="/households/{household.pk}/clue/"' in body
    assert f'href="/households/{household.pk}/members/new/"' in body
    assert f'href="/households/{household.pk}/income/"' in body
    # change history: who, why, what changed
    history = response.context["history"]
    phone_change = next(e for e in history if e["reason"] == "更正电话")
    assert phone_change["who"] == cadre
    assert phone_change["changes"] == [{"field": "联系电话", "old": "13812345678", "new": "13900000000"}]
    assert "更正电话" in body and "13812345678 → 13900000000" in body
    income = next(e for e in history if e["kind"] == "收支情况")
    assert income["name"] == "2025年度" and income["action"] == "新增"
    # the next visit is due 30 days after the last one
    assert response.context["next_visit"].due == TODAY - dt.timedelta(days=3) + dt.timedelta(days=30)


def test_a_helper_sees_id_numbers_and_phones_masked(client, household, helper_user, cadre):
    household_services.household_update(actor=cadre, household=household, phone="13900000000")
    client.force_login(helper_user)
    response = client.get(f"/households/{household.pk}/")
    body = response.content.decode()
    for person in household.members.all():
        assert person.id_number not in body
        assert idnumber.mask(person.id_number) in body
    assert "13900000000" not in body and "139****0000" in body
    assert "13812345678" not in body  # not in the change history either
    # a helper records visits and clues, but does not edit the registry
    assert f'href="/households/{household.pk}/visit/"' in body
    assert f'href="/households/{household.pk}/members/new/"' not in body


def test_member_changes_appear_in_the_history_with_masked_numbers_for_a_helper(
    client, household, helper_user, cadre
):
    person = household.members.exclude(pk=household.head_id).first()
    new_number = hf.id_number()
    household_services.person_update(actor=cadre, person=person, id_number=new_number, reason="号码录错")
    client.force_login(helper_user)
    history = client.get(f"/households/{household.pk}/").context["history"]
    entry = next(e for e in history if e["reason"] == "号码录错")
    assert entry["kind"] == "家庭成员" and entry["name"] == person.name
    assert entry["changes"] == [
        {"field": "公民身份号码", "old": idnumber.mask(person.id_number), "new": idnumber.mask(new_number)},
        {"field": "出生日期", "old": "****", "new": "****"},  # what the mask hides
    ]
    body = client.get(f"/households/{household.pk}/").content.decode()
    assert person.id_number not in body and new_number not in body


def test_household_page_query_count_does_not_grow_with_history(cadre_client, cadre, household):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert cadre_client.get(f"/households/{household.pk}/").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for i in range(5):
        household_services.household_update(actor=cadre, household=household, address=f"地址{i}")
        factories_person = hf.id_number()
        household_services.person_add(
            actor=cadre, household=household, id_number=factories_person, name=f"新{i}"
        )
    assert count() == before


# --- the helper's households -------------------------------------------------------------------


def test_my_households_orders_by_the_next_visit_and_marks_the_overdue(client, areas, helper_user, household):
    helper = helper_user.helper_profile
    late = hf.household(areas["v12"], registered=TODAY - dt.timedelta(days=300))
    quiet = hf.household(areas["v21"], registered=TODAY - dt.timedelta(days=300))
    for hh in (late, quiet):
        household_services.helper_assign(
            actor=None, helper=helper, household=hh, start_date=TODAY - dt.timedelta(days=100)
        )
    mf.case(household, identified_on=TODAY - dt.timedelta(days=20))  # due in 10 days
    mf.case(late, identified_on=TODAY - dt.timedelta(days=45))  # 15 days late
    Visit.objects.create(
        household=late, area_code=late.area_code, visited_on=TODAY - dt.timedelta(days=40), helper=helper
    )  # last visit 40 days ago: 10 days late
    client.force_login(helper_user)
    response = client.get("/households/mine/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["household"] for r in rows] == [late, household, quiet]
    assert rows[0]["due"].days_left == -10 and rows[0]["due"].is_overdue
    assert rows[1]["due"].days_left == 10
    assert rows[2]["due"] is None
    body = response.content.decode()
    assert '<span class="overdue">已超期 10 天' in body
    assert "还剩 10 天" in body
    assert "无需定期走访" in body
    assert f'href="/households/{late.pk}/visit/"' in body


def test_my_households_makes_a_fixed_number_of_queries(client, areas, helper_user, household):
    helper = helper_user.helper_profile
    client.force_login(helper_user)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/households/mine/")
        return len(ctx.captured_queries), len(response.context["rows"])

    mf.case(household)
    few, rows = count()
    assert rows == 1
    for village in ("v12", "v21", "v22", "v11"):
        hh = hf.household(areas[village])
        household_services.helper_assign(actor=None, helper=helper, household=hh, start_date=TODAY)
        mf.case(hh)
    many, rows = count()
    assert rows == 5 and many == few


def test_ended_assignments_are_not_listed(client, areas, helper_user, household):
    assignment = household.helper_assignments.get()
    household_services.helper_unassign(
        actor=None, assignment=assignment, end_date=TODAY - dt.timedelta(days=1)
    )
    client.force_login(helper_user)
    assert client.get("/households/mine/").context["rows"] == []


# --- the visit form ----------------------------------------------------------------------------


def test_visit_form_shows_the_last_visit(client, household, helper_user, monitored):
    visit_services.visit_record(
        actor=helper_user,
        household=household,
        visited_on=TODAY - dt.timedelta(days=10),
        wages="900",
        housing_secure=False,
        needs="上次的需求",
    )
    client.force_login(helper_user)
    response = client.get(f"/households/{household.pk}/visit/")
    assert response.status_code == 200
    assert response.context["last"].needs == "上次的需求"
    body = response.content.decode()
    assert 'id="last-visit"' in body and "上次的需求" in body and "900.00" in body
    assert response.context["form"]["visited_on"].value() == TODAY


def test_a_helper_records_a_visit(client, household, helper_user, monitored):
    client.force_login(helper_user)
    token = _token(client.get(f"/households/{household.pk}/visit/"))
    response = client.post(f"/households/{household.pk}/visit/", _visit_data(submit_token=token))
    assert response.status_code == 302
    assert response.url == f"/households/{household.pk}/#visits"
    visit = Visit.objects.get()
    assert visit.helper == helper_user.helper_profile and visit.visited_by == helper_user
    assert visit.wages == Decimal("1500.00") and visit.business is None
    assert visit.medical_spending == Decimal("800.00")
    assert visit.housing_secure is False and visit.drinking_water_secure is True
    assert visit.needs == "屋顶漏雨，需要维修"
    assert visit.case == monitored
    monitored.refresh_from_db()
    assert monitored.next_visit_due == TODAY + dt.timedelta(days=30)
    # the same form sent again does not record a second visit
    again = client.post(f"/households/{household.pk}/visit/", _visit_data(submit_token=token))
    assert again.status_code == 302 and again.url == response.url
    assert Visit.objects.count() == 1


def test_a_village_cadre_records_a_visit(cadre_client, cadre, household):
    response = cadre_client.post(f"/households/{household.pk}/visit/", _visit_data())
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.visited_by == cadre and visit.helper is None


def test_a_future_date_is_refused_and_everything_typed_is_kept(cadre_client, household):
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    response = cadre_client.post(
        f"/households/{household.pk}/visit/", _visit_data(visited_on=tomorrow, raise_clue="on")
    )
    assert response.status_code == 200
    form = response.context["form"]
    # every error of the submission at once: the date's and the clue's missing risk type
    assert form.errors == {
        "visited_on": ["走访日期不能晚于今天。"],
        "risk_type_codes": ["发现风险时请选择风险类型。"],
    }
    body = response.content.decode()
    assert f'value="{tomorrow}"' in body and 'value="1500"' in body and 'value="800"' in body
    assert "屋顶漏雨，需要维修" in body and "户主慢性病，按时服药" in body
    assert 'name="housing_secure" class="form-check-input" role="switch" id="id_housing_secure">' in body
    assert 'name="raise_clue" class="form-check-input" id="id_raise_clue" checked>' in body
    assert not Visit.objects.exists()


def test_a_bad_amount_is_refused_beside_its_field(cadre_client, household):
    response = cadre_client.post(f"/households/{household.pk}/visit/", _visit_data(transfer="abc"))
    assert "transfer" in response.context["form"].errors
    assert 'id="id_transfer_error"' in response.content.decode()
    assert not Visit.objects.exists()


def test_a_visit_raises_a_clue(cadre_client, household):
    data = _visit_data(
        raise_clue="on", risk_type_codes=["01", "0201"], description="突发洪水，房屋受损", amount="20000"
    )
    response = cadre_client.post(f"/households/{household.pk}/visit/", data)
    assert response.status_code == 302
    visit = Visit.objects.get()
    clue = visit.raised_clue
    assert clue is not None and clue.household == household
    assert clue.channel == "cadre_screening" and clue.found_date == TODAY
    assert sorted(clue.risk_types.values_list("code", flat=True)) == ["01", "0201"]
    assert clue.description == "突发洪水，房屋受损" and clue.amount == Decimal("20000")
    # a cadre's screening opens the identification case at once
    assert clue.status == ClueStatus.CASE_OPENED
    assert MonitoringCase.objects.get(household=household).status == CaseStatus.IDENTIFYING


def test_a_clue_without_a_risk_type_is_refused_beside_the_risk_types(cadre_client, household):
    data = _visit_data(raise_clue="on", description="情况描述")
    response = cadre_client.post(f"/households/{household.pk}/visit/", data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"risk_type_codes": ["发现风险时请选择风险类型。"]}
    body = response.content.decode()
    assert 'id="id_risk_type_codes_error">发现风险时请选择风险类型。' in body
    assert "情况描述" in body
    assert not Visit.objects.exists() and not Clue.objects.exists()


def test_a_disaster_needs_its_sub_item(cadre_client, household):
    form = cadre_client.get(f"/households/{household.pk}/visit/").context["form"]
    codes = [code for code, _label in form.fields["risk_type_codes"].choices]
    assert "02" not in codes and "0201" in codes  # offered through its sub-items
    groups = form.risk_type_groups()
    disasters = next(options for parent, options in groups if parent == "因自然灾害")
    assert [o.choice_label for o in disasters][:2] == ["洪涝灾害", "地质灾害"]
    assert "因自然灾害" in cadre_client.get(f"/households/{household.pk}/visit/").content.decode()


def test_the_clue_fields_are_ignored_unless_ticked(cadre_client, household):
    response = cadre_client.post(f"/households/{household.pk}/visit/", _visit_data(risk_type_codes=["01"]))
    assert response.status_code == 302
    assert Visit.objects.get().raised_clue is None and not Clue.objects.exists()


def test_a_township_reviewer_cannot_record_a_visit(client, township_reviewer, household):
    client.force_login(township_reviewer)
    page = client.get(f"/households/{household.pk}/")
    assert f'href="/households/{household.pk}/visit/"' not in page.content.decode()
    response = client.post(f"/households/{household.pk}/visit/", _visit_data())
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["只有帮扶责任人和本村干部可以记录走访。"]
    assert "屋顶漏雨，需要维修" in response.content.decode()
    assert not Visit.objects.exists()


def test_visit_list(cadre_client, cadre, household):
    for days in (40, 20, 5):
        visit_services.visit_record(
            actor=cadre, household=household, visited_on=TODAY - dt.timedelta(days=days), notes=f"第{days}天"
        )
    response = cadre_client.get(f"/households/{household.pk}/visits/")
    assert response.status_code == 200
    assert [v.notes for v in response.context["visits"]] == ["第5天", "第20天", "第40天"]
