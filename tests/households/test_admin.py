"""The registry's admin: area scoping, saving through the services, refusals shown on the form.

Only operators (and superusers) use the admin; an operator may be placed at a village, a
township or the county, and sees that area's records only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from households import idnumber, services
from households.models import Helper, HelperAssignment, Household, IncomeRecord, Person
from tests.accounts import factories as af
from tests.households import factories as hf


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _form_data(form) -> dict:
    """What a browser would post for ``form`` as rendered (its current values)."""
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[form.add_prefix(name)] = "on"
            continue
        if value is None:
            value = ""
        elif isinstance(value, list | tuple):
            value = [str(v) for v in value]
        else:
            value = str(value)
        data[form.add_prefix(name)] = value
    return data


def _page_data(response, extra_rows: dict[str, int] | None = None) -> dict:
    """The main form, every inline formset and its management form, as rendered.

    ``extra_rows`` adds that many empty rows to the inline with the given prefix.
    """
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        rows = list(formset.forms)
        for _ in range((extra_rows or {}).get(formset.prefix, 0)):
            rows.append(formset._construct_form(len(rows)))
        data.update(_form_data(management))
        data[management.add_prefix("TOTAL_FORMS")] = str(len(rows))
        for form in rows:
            data.update(_form_data(form))
    return data


def _bad_check_digit(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


@pytest.fixture
def village_operator(areas):
    return af.user(Role.OPERATOR, areas["v11"], username="operator_v11")


@pytest.fixture
def township_operator(areas):
    return af.user(Role.OPERATOR, areas["t1"], username="operator_t1")


# --- scoping ------------------------------------------------------------------------------


def test_village_operator_changelist_shows_only_their_village(client, areas, village_operator):
    mine = hf.household(areas["v11"], members=1)
    other = hf.household(areas["v12"], members=1)
    client.force_login(village_operator)
    response = client.get(_url(Household, "changelist"))
    assert response.status_code == 200
    assert [h.pk for h in response.context["cl"].result_list] == [mine.pk]
    content = response.content.decode()
    assert mine.number in content
    assert other.number not in content


def test_township_operator_sees_their_township(client, areas, township_operator):
    in_t1 = [hf.household(areas["v11"]), hf.household(areas["v12"])]
    hf.household(areas["v21"])
    client.force_login(township_operator)
    response = client.get(_url(Household, "changelist"))
    assert {h.pk for h in response.context["cl"].result_list} == {h.pk for h in in_t1}


def test_other_villages_records_do_not_open(client, areas, village_operator):
    other = hf.household(areas["v12"], members=1)
    person = other.members.get()
    client.force_login(village_operator)
    for url in (_url(Household, "change", other.pk), _url(Person, "change", person.pk)):
        response = client.get(url)
        assert response.status_code in (302, 404)
        assert other.number not in response.content.decode()
    # the history pages look the object up on their own: still refused
    assert client.get(_url(Household, "history", other.pk)).status_code == 403
    version = other.history.first().history_id
    assert client.get(_url(Household, "simple_history", other.pk, version)).status_code == 403


def test_village_operator_can_only_pick_their_own_villages(client, areas, village_operator):
    client.force_login(village_operator)
    response = client.get(_url(Household, "add"))
    assert list(response.context["adminform"].form.fields["village"].queryset) == [areas["v11"]]

    data = _page_data(response)
    data.update({"number": "H-OUT-1", "village": str(areas["v12"].pk)})
    response = client.post(_url(Household, "add"), data)
    assert response.status_code == 200
    assert "village" in response.context["adminform"].form.errors
    assert not Household.objects.filter(number="H-OUT-1").exists()


@pytest.mark.parametrize(
    "role", [Role.HELPER, Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER], ids=str
)
def test_field_roles_cannot_open_or_edit_households_in_the_admin(client, areas, role):
    """Cadres, helpers, reviewers and approvers keep the registry through its pages only."""
    area = {Role.HELPER: None, Role.VILLAGE_CADRE: areas["v11"], Role.TOWNSHIP_REVIEWER: areas["t1"]}.get(
        role, areas["county"]
    )
    user = af.user(role, *([area] if area else []), username=f"field_{role}")
    if role == Role.HELPER:
        helper = hf.helper(areas["county"], user)
    hh = hf.household(areas["v11"], members=1)
    if role == Role.HELPER:
        services.helper_assign(actor=None, helper=helper, household=hh, start_date=dt.date(2025, 1, 1))
    client.force_login(user)
    for url in (_url(Household, "changelist"), _url(Household, "change", hh.pk), _url(Household, "add")):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    response = client.post(_url(Household, "change", hh.pk), {"address": "改过的地址"})
    assert response.status_code == 302
    hh.refresh_from_db()
    assert hh.address != "改过的地址"


def test_township_operator_changes_a_household_with_a_reason(client, areas, township_operator):
    hh = hf.household(areas["v11"], members=1)
    client.force_login(township_operator)
    response = client.get(_url(Household, "change", hh.pk))
    data = _page_data(response)
    data["address"] = "西城镇一村5号"
    data["reason"] = "乡镇核实地址"
    response = client.post(_url(Household, "change", hh.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    hh.refresh_from_db()
    assert hh.address == "西城镇一村5号"
    latest = hh.history.first()
    assert latest.history_user == township_operator
    assert latest.history_change_reason == "乡镇核实地址"


def test_changelist_query_count_does_not_grow(client, areas, village_operator, django_assert_max_num_queries):
    client.force_login(village_operator)
    url = _url(Household, "changelist")
    hf.household(areas["v11"], members=2)
    client.get(url)  # warm up (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(6):
        hf.household(areas["v11"], members=3, phone="13912345678")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.context["cl"].result_count == 7
    assert len(many) == len(few)
    with django_assert_max_num_queries(9):
        client.get(url)


def test_household_autocomplete_is_scoped(client, areas, village_operator):
    mine = hf.household(areas["v11"])
    hf.household(areas["v12"])
    client.force_login(village_operator)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "households", "model_name": "person", "field_name": "household", "term": "H"},
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]


def test_changelist_search_by_member_id_number(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=2)
    hf.household(areas["v11"], members=1)
    member = hh.members.order_by("pk").last()
    client.force_login(village_operator)
    response = client.get(_url(Household, "changelist"), {"q": member.id_number})
    assert [h.pk for h in response.context["cl"].result_list] == [hh.pk]


def test_phone_is_masked_in_the_list(client, areas, village_operator):
    hf.household(areas["v11"], phone="13912345678")
    client.force_login(village_operator)
    content = client.get(_url(Household, "changelist")).content.decode()
    assert "139****5678" in content
    assert "13912345678" not in content


# --- people -------------------------------------------------------------------------------


def test_person_list_masks_the_id_number_and_the_change_page_shows_it(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=1)
    person = hh.members.get()
    client.force_login(village_operator)
    content = client.get(_url(Person, "changelist")).content.decode()
    assert person.id_number not in content
    assert idnumber.mask(person.id_number) in content
    response = client.get(_url(Person, "change", person.pk))
    content = response.content.decode()
    assert person.id_number in content
    # birth date and sex are shown, derived from the number, never typed in
    form = response.context["adminform"].form
    assert "birth_date" not in form.fields and "sex" not in form.fields
    assert f"{person.birth_date:%Y}" in content


def _person_add_data(client, household, **values):
    response = client.get(_url(Person, "add"))
    data = _page_data(response)
    data.update({"household": str(household.pk), "name": "张三", "relation": "child", "ethnicity": "回族"})
    data.update(values)
    return data


def test_person_add_with_wrong_check_digit_shows_the_error_and_keeps_the_input(
    client, areas, village_operator
):
    hh = hf.household(areas["v11"], members=1)
    bad = _bad_check_digit(hf.id_number())
    client.force_login(village_operator)
    before = Person.objects.count()
    response = client.post(
        _url(Person, "add"), _person_add_data(client, hh, id_number=bad, work_place="北京市朝阳区")
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert any("公民身份号码校验位错误" in str(e) for e in form.errors["id_number"])
    assert list(form.errors) == ["id_number"]
    content = response.content.decode()
    assert "公民身份号码校验位错误" in content
    # what was typed is still there
    for typed in ("张三", "回族", bad, "北京市朝阳区"):
        assert typed in content
    assert form["name"].value() == "张三"
    assert Person.objects.count() == before


def test_person_add_with_a_birth_date_in_the_future_is_refused(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=1)
    future = idnumber.make("130727", timezone.localdate() + dt.timedelta(days=30), 11)
    client.force_login(village_operator)
    response = client.post(_url(Person, "add"), _person_add_data(client, hh, id_number=future))
    assert response.status_code == 200
    assert "出生日期晚于今天" in str(response.context["adminform"].form.errors["id_number"])


def test_person_already_in_another_household_is_refused(client, areas, village_operator):
    first = hf.household(areas["v11"], members=1)
    second = hf.household(areas["v11"], members=1)
    taken = first.members.get().id_number
    client.force_login(village_operator)
    response = client.post(_url(Person, "add"), _person_add_data(client, second, id_number=taken))
    assert response.status_code == 200
    message = str(response.context["adminform"].form.errors["id_number"])
    assert first.number in message and "一人只能属于一户" in message
    assert second.members.count() == 1


def test_person_add_goes_through_the_service(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=1)
    services.income_record_set(actor=village_operator, household=hh, year=2025, wages=10000)
    number = idnumber.make("130727", dt.date(1990, 5, 17), 124)
    client.force_login(village_operator)
    response = client.post(
        _url(Person, "add"), _person_add_data(client, hh, id_number=number.lower(), reason="新生儿登记")
    )
    assert response.status_code == 302
    person = Person.objects.get(id_number=number)
    assert (person.birth_date, person.sex) == (dt.date(1990, 5, 17), "F")
    assert person.history.first().history_user == village_operator
    assert person.history.first().history_change_reason == "新生儿登记"
    # the service recomputed the year's per-capita income for the new member
    assert IncomeRecord.objects.get(household=hh).members == 2


def test_person_add_outside_the_area_is_refused(client, areas, village_operator):
    other = hf.household(areas["v12"], members=1)
    client.force_login(village_operator)
    response = client.post(_url(Person, "add"), _person_add_data(client, other, id_number=hf.id_number()))
    assert response.status_code == 200
    assert "household" in response.context["adminform"].form.errors
    assert other.members.count() == 1


def test_person_change_goes_through_the_service(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=2)
    person = hh.members.order_by("pk").last()
    client.force_login(village_operator)
    response = client.get(_url(Person, "change", person.pk))
    data = _page_data(response)
    data["health_status"] = "serious"
    data["id_number"] = _bad_check_digit(person.id_number)
    response = client.post(_url(Person, "change", person.pk), data)
    assert response.status_code == 200
    assert "公民身份号码校验位错误" in str(response.context["adminform"].form.errors["id_number"])
    person.refresh_from_db()
    assert person.health_status == "healthy"  # nothing half-saved

    data["id_number"] = person.id_number
    response = client.post(_url(Person, "change", person.pk), data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.health_status == "serious"


# --- income -------------------------------------------------------------------------------


def _income_add_data(client, household, **values):
    response = client.get(_url(IncomeRecord, "add"))
    data = _page_data(response)
    data.update({"household": str(household.pk), "year": "2025", "note": "入户采集"})
    data.update(values)
    return data


def test_negative_income_is_refused_with_a_message(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=2)
    client.force_login(village_operator)
    response = client.post(
        _url(IncomeRecord, "add"), _income_add_data(client, hh, wages="-100", business="300")
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "金额不能为负数" in str(form.errors["wages"])
    assert form["business"].value() == "300"
    assert "入户采集" in response.content.decode()
    assert not IncomeRecord.objects.filter(household=hh).exists()


def test_income_add_computes_per_capita(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=2)
    client.force_login(village_operator)
    response = client.post(
        _url(IncomeRecord, "add"),
        _income_add_data(client, hh, wages="20000", business="5000", business_expenditure="1000"),
    )
    assert response.status_code == 302
    record = IncomeRecord.objects.get(household=hh, year=2025)
    assert (record.members, str(record.net_income), str(record.per_capita_net_income)) == (
        2,
        "24000.00",
        "12000.00",
    )
    # the computed figures are read-only on the change page
    form = client.get(_url(IncomeRecord, "change", record.pk)).context["adminform"].form
    assert not {"members", "net_income", "per_capita_net_income"} & set(form.fields)


def test_income_add_for_a_year_already_recorded_is_refused(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=1)
    services.income_record_set(actor=village_operator, household=hh, year=2025, wages=10000)
    client.force_login(village_operator)
    response = client.post(_url(IncomeRecord, "add"), _income_add_data(client, hh, wages="1"))
    assert response.status_code == 200
    assert "year" in response.context["adminform"].form.errors
    assert IncomeRecord.objects.get(household=hh).wages == 10000


# --- the household page with its inlines ---------------------------------------------------


def test_household_add_with_members_and_income_goes_through_the_services(client, areas, village_operator):
    client.force_login(village_operator)
    response = client.get(_url(Household, "add"))
    data = _page_data(response, extra_rows={"members": 2, "incomes": 1})
    head_id, child_id = hf.id_number(), hf.id_number()
    data.update(
        {
            "number": "H-NEW-1",
            "village": str(areas["v11"].pk),
            "phone": "13800001111",
            "members-0-name": "王户主",
            "members-0-id_number": head_id,
            "members-0-relation": "head",
            "members-1-name": "王孩子",
            "members-1-id_number": child_id,
            "members-1-relation": "child",
            "incomes-0-year": "2025",
            "incomes-0-wages": "30000",
        }
    )
    response = client.post(_url(Household, "add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    hh = Household.objects.get(number="H-NEW-1")
    assert hh.area_code == areas["v11"].code
    assert hh.head.name == "王户主"
    assert hh.members.count() == 2
    record = hh.incomes.get()
    assert (record.members, str(record.per_capita_net_income)) == (2, "15000.00")


def test_household_add_refused_in_an_inline_row_saves_nothing(client, areas, village_operator):
    client.force_login(village_operator)
    response = client.get(_url(Household, "add"))
    data = _page_data(response, extra_rows={"members": 2})
    bad = _bad_check_digit(hf.id_number())
    data.update(
        {
            "number": "H-NEW-2",
            "village": str(areas["v11"].pk),
            "address": "一村8号",
            "members-0-name": "赵户主",
            "members-0-id_number": hf.id_number(),
            "members-0-relation": "head",
            "members-1-name": "赵孩子",
            "members-1-id_number": bad,
            "members-1-relation": "child",
        }
    )
    response = client.post(_url(Household, "add"), data)
    assert response.status_code == 200
    assert not Household.objects.filter(number="H-NEW-2").exists()
    assert not Person.objects.filter(name__in=["赵户主", "赵孩子"]).exists()
    formset = next(
        f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == "members"
    )
    assert "公民身份号码校验位错误" in str(formset.forms[1].errors["id_number"])
    content = response.content.decode()
    for typed in ("H-NEW-2", "一村8号", "赵户主", "赵孩子", bad):
        assert typed in content


def test_household_number_taken_is_shown_on_the_field(client, areas, village_operator):
    existing = hf.household(areas["v11"])
    client.force_login(village_operator)
    data = _page_data(client.get(_url(Household, "add")))
    data.update({"number": existing.number, "village": str(areas["v11"].pk), "address": "某地"})
    response = client.post(_url(Household, "add"), data)
    assert response.status_code == 200
    assert "户编号已存在" in str(response.context["adminform"].form.errors["number"])


def test_household_status_fields_are_not_editable(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=1)
    client.force_login(village_operator)
    form = client.get(_url(Household, "change", hh.pk)).context["adminform"].form
    assert not {"monitoring_status", "monitoring_category", "area_code", "head"} & set(form.fields)
    assert form.fields["number"].disabled


def test_household_revert_is_refused(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=1)
    version = hh.history.last().history_id
    client.force_login(village_operator)
    response = client.get(_url(Household, "simple_history", hh.pk, version))
    assert response.status_code == 200
    assert response.context["revert_disabled"] is True
    assert client.post(_url(Household, "simple_history", hh.pk, version), {}).status_code == 403


def test_inline_member_change_and_helper_assignment(client, areas, operator):
    hh = hf.household(areas["v21"], members=1)
    helper = hf.helper(areas["county"])
    client.force_login(operator)
    response = client.get(_url(Household, "change", hh.pk))
    data = _page_data(response, extra_rows={"helper_assignments": 1})
    data.update(
        {
            "members-0-health_status": "chronic",
            "helper_assignments-0-helper": str(helper.pk),
            "helper_assignments-0-kind": "responsible",
            "helper_assignments-0-start_date": "2025-02-01",
        }
    )
    response = client.post(_url(Household, "change", hh.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert hh.members.get().health_status == "chronic"
    assignment = HelperAssignment.objects.get(household=hh)
    assert assignment.helper == helper and assignment.start_date == dt.date(2025, 2, 1)


def test_household_page_with_an_active_assignment_saves_and_ends_it(client, areas, operator):
    hh = hf.household(areas["v21"], members=1)
    helper = hf.helper(areas["county"])
    services.helper_assign(actor=None, helper=helper, household=hh, start_date=dt.date(2025, 1, 1))
    client.force_login(operator)
    data = _page_data(client.get(_url(Household, "change", hh.pk)))
    data["address"] = "三村1号"
    response = client.post(_url(Household, "change", hh.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert HelperAssignment.objects.get(household=hh).end_date is None

    data["helper_assignments-0-end_date"] = "2024-12-01"  # before the start: the model refuses
    response = client.post(_url(Household, "change", hh.pk), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][2].formset
    assert "结束时间不能早于开始时间" in str(formset.forms[0].errors["end_date"])
    assert HelperAssignment.objects.get(household=hh).end_date is None

    data["helper_assignments-0-end_date"] = "2025-06-30"
    response = client.post(_url(Household, "change", hh.pk), data)
    assert response.status_code == 302
    assert HelperAssignment.objects.get(household=hh).end_date == dt.date(2025, 6, 30)


def test_village_operator_saves_a_household_with_a_view_only_assignment(client, areas, village_operator):
    hh = hf.household(areas["v11"], members=1)
    helper = hf.helper(areas["county"])
    services.helper_assign(actor=None, helper=helper, household=hh, start_date=dt.date(2025, 1, 1))
    client.force_login(village_operator)
    data = _page_data(client.get(_url(Household, "change", hh.pk)))
    data["address"] = "一村2号"
    response = client.post(_url(Household, "change", hh.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    hh.refresh_from_db()
    assert hh.address == "一村2号"


def test_helper_choices_are_scoped_to_the_county(client, areas, township_operator):
    other_county = af.area("130728000000", "怀安县", "county", areas["city"])
    mine = hf.helper(areas["county"], name="本县帮扶人")
    hf.helper(other_county, name="外县帮扶人")
    client.force_login(township_operator)
    response = client.get(_url(Helper, "changelist"))
    assert [h.pk for h in response.context["cl"].result_list] == [mine.pk]
    response = client.get(_url(Helper, "add"))
    assert list(response.context["adminform"].form.fields["county"].queryset) == [areas["county"]]


@pytest.mark.parametrize("model", [Household, Person, IncomeRecord, Helper, HelperAssignment])
def test_registry_pages_open_for_the_operator(client, areas, operator, model):
    hh = hf.household(areas["v11"], members=1)
    services.income_record_set(actor=operator, household=hh, year=2025, wages=1)
    helper = hf.helper(areas["county"])
    services.helper_assign(actor=operator, helper=helper, household=hh, start_date=dt.date(2025, 1, 1))
    client.force_login(operator)
    assert client.get(_url(model, "changelist")).status_code == 200
    obj = model.objects.first()
    assert client.get(_url(model, "change", obj.pk)).status_code == 200
    assert client.get(_url(model, "history", obj.pk)).status_code == 200
