"""Registry pages: the household list, registering a household and its members, income.

Each page: GET, a valid POST, an invalid POST that keeps what was typed, a double submit that
writes once, and a 404 for a household outside the person's area.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from households import idnumber
from households.models import Household, IncomeRecord, Person
from tests.accounts import factories as af
from tests.households import factories as hf

BAD_CHECK_DIGIT = "公民身份号码校验位错误，请核对。"


def _bad_check(number: str) -> str:
    """The same number with a wrong check character."""
    return number[:17] + ("0" if number[17] != "0" else "1")


def _token(response) -> str:
    return response.context["form"]["submit_token"].value()


def _household_data(village, **overrides) -> dict:
    data = {
        "number": "H-NEW-001",
        "village": village.pk,
        "address": "一村三组12号",
        "phone": "13900001111",
        "household_type": "ordinary",
        "low_income_status": "",
        "housing_grade": "A",
        "cultivated_land_mu": "3.5",
        "food_clothing_secure": "on",
        "compulsory_education_secure": "on",
        "medical_insurance_secure": "on",
        "housing_secure": "on",
        "drinking_water_secure": "on",
        "monitoring_contact": "",
        "monitoring_contact_phone": "",
    }
    data.update(overrides)
    return data


def _person_data(**overrides) -> dict:
    data = {
        "name": "李四",
        "id_number": hf.id_number(),
        "relation": "spouse",
        "ethnicity": "回族",
        "is_resident": "on",
        "health_status": "chronic",
        "disability": "",
        "labour_capacity": "weak",
        "school_status": "",
        "school_grade": "",
        "basic_medical_insurance": "on",
        "serious_illness_insurance": "on",
        "pension_insurance": "on",
        "work_place": "张家口",
        "work_months": "6",
    }
    data.update(overrides)
    return data


# --- sign-in and scope -------------------------------------------------------------------------


#: Every page that takes an id, the registry's and the monitoring app's household pages.
ID_PAGES = [
    "/households/{pk}/",
    "/households/{pk}/edit/",
    "/households/{pk}/members/new/",
    "/households/{pk}/members/{person}/edit/",
    "/households/{pk}/income/",
    "/households/{pk}/visit/",
    "/households/{pk}/visits/",
]


def _url(page: str, hh: Household) -> str:
    return page.format(pk=hh.pk, person=hh.members.first().pk)


@pytest.mark.parametrize("page", ID_PAGES)
def test_every_page_with_an_id_is_404_outside_the_village(cadre_client, other_household, page):
    url = _url(page, other_household)
    assert cadre_client.get(url).status_code == 404
    assert cadre_client.post(url, {"name": "x", "visited_on": "2025-01-01"}).status_code == 404


@pytest.mark.parametrize("page", ID_PAGES)
def test_every_page_with_an_id_opens_inside_the_village(cadre_client, household, page):
    assert cadre_client.get(_url(page, household)).status_code == 200


def test_a_member_of_another_household_is_404_under_this_one(cadre_client, household, other_household):
    stranger = other_household.members.first()
    assert cadre_client.get(f"/households/{household.pk}/members/{stranger.pk}/edit/").status_code == 404


@pytest.mark.parametrize("page", ["/households/", "/households/new/", "/households/mine/", *ID_PAGES])
def test_sign_in_is_required(client, household, page):
    response = client.get(_url(page, household))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_a_helper_cannot_open_the_registry_forms(client, areas, household):
    user = af.user(Role.HELPER)
    helper = hf.helper(areas["county"], user)
    from households import services

    services.helper_assign(actor=None, helper=helper, household=household, start_date=dt.date(2025, 1, 1))
    client.force_login(user)
    assert client.get("/households/").status_code == 200
    for page in ID_PAGES[1:5]:
        assert client.get(_url(page, household)).status_code == 403, page
    assert client.get("/households/new/").status_code == 403


def test_forms_need_the_csrf_token(cadre, areas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cadre)
    response = client.post("/households/new/", _household_data(areas["v11"]))
    assert response.status_code == 403
    assert not Household.objects.filter(number="H-NEW-001").exists()


# --- the list ----------------------------------------------------------------------------------


def test_list_shows_own_village_with_masked_id_numbers(cadre_client, household, other_household):
    response = cadre_client.get("/households/")
    assert response.status_code == 200
    body = response.content.decode()
    head = household.head
    assert household.number in body and head.name in body
    assert idnumber.mask(head.id_number) in body
    assert head.id_number not in body
    assert other_household.number not in body
    assert f'href="/households/{household.pk}/"' in body


@pytest.mark.parametrize("how", ["name", "number", "id_number", "id_number_with_spaces"])
def test_search(cadre_client, areas, cadre, household, how):
    other = hf.household(areas["v11"], members=1, actor=cadre)
    head = household.head
    term = {
        "name": head.name,
        "number": household.number,
        "id_number": head.id_number,
        "id_number_with_spaces": f"{head.id_number[:6]} {head.id_number[6:14]} {head.id_number[14:]}",
    }[how]
    response = cadre_client.post("/households/", {"search": term}, follow=True)
    households = list(response.context["households"])
    assert households == [household]
    # an ID number never lands in the page address (a name or a household number may)
    ((url, status),) = response.redirect_chain
    assert status == 303 and head.id_number[6:14] not in url
    assert ("search_key=" in url) == how.startswith("id_number")
    body = response.content.decode()
    assert other.number not in body
    # the full number shows only where it was typed (the search box); the row shows it masked
    shown = body.replace(f'value="{head.id_number}"', "").replace(f'value="{term}"', "")
    assert head.id_number not in shown
    assert idnumber.mask(head.id_number) in body


def test_filter_by_household_type(cadre_client, areas, cadre, household):
    poor = hf.household(areas["v11"], members=1, actor=cadre, household_type="out_of_poverty")
    response = cadre_client.get("/households/", {"household_type": "out_of_poverty"})
    assert list(response.context["households"]) == [poor]


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/households/")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["households"])


def test_list_makes_the_same_number_of_queries_for_5_and_30_rows(cadre_client, areas, cadre):
    for _ in range(5):
        hf.household(areas["v11"], members=2, actor=cadre)
    few, rows = _list_queries(cadre_client)
    assert rows == 5
    for _ in range(25):
        hf.household(areas["v11"], members=2, actor=cadre)
    many, rows = _list_queries(cadre_client)
    assert rows == 30
    assert few == many
    assert many <= 8


# --- register a household ---------------------------------------------------------------------


def test_register_a_household(cadre_client, areas):
    response = cadre_client.get("/households/new/")
    assert response.status_code == 200
    assert response.context["form"]["village"].value() == areas["v11"].pk  # the cadre's only village
    data = _household_data(areas["v11"], submit_token=_token(response))
    response = cadre_client.post("/households/new/", data)
    hh = Household.objects.get(number="H-NEW-001")
    assert response.status_code == 302
    assert response.url == f"/households/{hh.pk}/members/new/"
    assert hh.village == areas["v11"] and hh.address == "一村三组12号"
    assert hh.cultivated_land_mu == Decimal("3.5")
    assert hh.history.first().history_user.username == "cadre_v11"


def test_register_refused_keeps_everything_typed(cadre_client, areas, household):
    data = _household_data(areas["v11"], number=household.number, address="保留的地址")
    response = cadre_client.post("/households/new/", data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["number"] == ["户编号已存在。"]
    body = response.content.decode()
    assert 'value="保留的地址"' in body and 'value="13900001111"' in body and 'value="3.5"' in body
    assert "is-invalid" in body
    assert Household.objects.count() == 1


def test_register_in_a_village_outside_the_area_is_refused(cadre_client, areas):
    response = cadre_client.post("/households/new/", _household_data(areas["v12"]))
    assert response.status_code == 200
    assert "village" in response.context["form"].errors
    assert not Household.objects.filter(number="H-NEW-001").exists()


def test_double_submit_registers_once(cadre_client, areas):
    token = _token(cadre_client.get("/households/new/"))
    data = _household_data(areas["v11"], submit_token=token)
    first = cadre_client.post("/households/new/", data)
    second = cadre_client.post("/households/new/", data)
    assert first.status_code == second.status_code == 302
    assert second.url == first.url
    assert Household.objects.filter(number="H-NEW-001").count() == 1


def test_edit_a_household_with_a_reason(cadre_client, household, areas):
    response = cadre_client.get(f"/households/{household.pk}/edit/")
    assert response.status_code == 200
    assert response.context["form"].fields["number"].disabled
    data = _household_data(areas["v11"], number="ignored", phone="13700000000", reason="电话号码变更")
    response = cadre_client.post(f"/households/{household.pk}/edit/", data)
    assert response.status_code == 302 and response.url == f"/households/{household.pk}/"
    household.refresh_from_db()
    assert household.phone == "13700000000"
    assert household.number != "ignored"
    assert household.history.first().history_change_reason == "电话号码变更"


# --- members ----------------------------------------------------------------------------------


def test_add_a_member(cadre_client, household):
    response = cadre_client.get(f"/households/{household.pk}/members/new/")
    assert response.status_code == 200
    number = hf.id_number(sex="F")
    data = _person_data(id_number=number.lower(), submit_token=_token(response))
    response = cadre_client.post(f"/households/{household.pk}/members/new/", data)
    assert response.status_code == 302 and response.url == f"/households/{household.pk}/"
    person = Person.objects.get(id_number=number.upper())
    assert person.household == household and person.sex == "F" and person.ethnicity == "回族"
    assert person.work_months == 6 and person.labour_capacity == "weak"


def test_save_and_add_another_returns_to_the_form(cadre_client, household):
    data = _person_data(add_another="1")
    response = cadre_client.post(f"/households/{household.pk}/members/new/", data)
    assert response.url == f"/households/{household.pk}/members/new/"


def test_first_member_of_a_new_household_defaults_to_head(cadre_client, areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    response = cadre_client.get(f"/households/{hh.pk}/members/new/")
    assert response.context["form"]["relation"].value() == "head"


def test_an_invalid_id_number_shows_the_chinese_message_beside_the_field(cadre_client, household):
    bad = _bad_check(hf.id_number())
    data = _person_data(id_number=bad)
    response = cadre_client.post(f"/households/{household.pk}/members/new/", data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"id_number": [BAD_CHECK_DIGIT]}
    body = response.content.decode()
    assert f'<div class="field-error" id="id_id_number_error">{BAD_CHECK_DIGIT}</div>' in body
    # everything else typed is still there
    assert 'value="李四"' in body and 'value="回族"' in body and 'value="张家口"' in body
    assert f'value="{bad}"' in body
    assert '<option value="chronic" selected>' in body
    assert household.members.count() == 2


def test_a_duplicate_id_number_names_the_other_household(cadre_client, household, other_household):
    data = _person_data(id_number=other_household.head.id_number)
    response = cadre_client.post(f"/households/{household.pk}/members/new/", data)
    assert other_household.number in response.context["form"].errors["id_number"][0]


def test_double_submit_adds_the_member_once(cadre_client, household):
    token = _token(cadre_client.get(f"/households/{household.pk}/members/new/"))
    data = _person_data(submit_token=token)
    cadre_client.post(f"/households/{household.pk}/members/new/", data)
    second = cadre_client.post(f"/households/{household.pk}/members/new/", data)
    assert second.status_code == 302
    assert household.members.count() == 3


def test_edit_a_member(cadre_client, household):
    person = household.members.exclude(pk=household.head_id).first()
    url = f"/households/{household.pk}/members/{person.pk}/edit/"
    response = cadre_client.get(url)
    assert response.status_code == 200
    assert person.id_number in response.content.decode()  # a cadre edits the full number
    data = _person_data(id_number=person.id_number, name=person.name, relation="child", reason="核实")
    response = cadre_client.post(url, data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.ethnicity == "回族" and person.health_status == "chronic"
    assert person.history.first().history_change_reason == "核实"


def test_edit_a_member_with_a_bad_id_keeps_the_form(cadre_client, household):
    person = household.members.first()
    url = f"/households/{household.pk}/members/{person.pk}/edit/"
    response = cadre_client.post(url, _person_data(id_number="123", name="改名"))
    assert response.status_code == 200
    assert response.context["form"].errors["id_number"] == ["公民身份号码应为18位。"]
    assert 'value="改名"' in response.content.decode()
    person.refresh_from_db()
    assert person.name != "改名"


# --- income -----------------------------------------------------------------------------------


def _income_data(**overrides) -> dict:
    data = {
        "year": "2025",
        "wages": "12000",
        "business": "3000",
        "property_income": "",
        "transfer": "1000",
        "business_expenditure": "2000",
        "insurance_payout": "",
        "compliant_medical_spending": "",
        "recorded_on": "2026-01-05",
        "note": "年底核算",
    }
    data.update(overrides)
    return data


def test_enter_a_years_income_and_the_per_capita_is_computed(cadre_client, household):
    response = cadre_client.get(f"/households/{household.pk}/income/")
    assert response.status_code == 200
    assert "per_capita_net_income" not in response.context["form"].fields
    data = _income_data(submit_token=_token(response))
    response = cadre_client.post(f"/households/{household.pk}/income/", data)
    assert response.status_code == 302
    assert response.url == f"/households/{household.pk}/#income"
    record = IncomeRecord.objects.get(household=household, year=2025)
    assert record.net_income == Decimal("14000.00")
    assert record.members == 2 and record.per_capita_net_income == Decimal("7000.00")
    # a second submit of the same page does not write again
    again = cadre_client.post(f"/households/{household.pk}/income/", data)
    assert again.url == response.url
    assert record.history.count() == 1


def test_a_negative_amount_is_refused_beside_its_field(cadre_client, household):
    response = cadre_client.post(f"/households/{household.pk}/income/", _income_data(transfer="-5"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"transfer": ["金额不能为负数。"]}
    body = response.content.decode()
    assert 'value="12000"' in body and 'value="年底核算"' in body and 'value="-5"' in body
    assert not IncomeRecord.objects.exists()


def test_a_recorded_year_is_replaced_only_when_opened(cadre_client, household):
    cadre_client.post(f"/households/{household.pk}/income/", _income_data())
    response = cadre_client.post(f"/households/{household.pk}/income/", _income_data(wages="1"))
    assert "year" in response.context["form"].errors
    response = cadre_client.get(f"/households/{household.pk}/income/", {"year": "2025"})
    form = response.context["form"]
    assert form["loaded_year"].value() == "2025" and form["wages"].value() == Decimal("12000.00")
    response = cadre_client.post(
        f"/households/{household.pk}/income/", _income_data(wages="20000", loaded_year="2025")
    )
    assert response.status_code == 302
    assert IncomeRecord.objects.get(household=household, year=2025).per_capita_net_income == Decimal(
        "11000.00"
    )
