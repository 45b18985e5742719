"""The registry's write services: what they store, and every refusal with its field and text."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role
from households import idnumber, services
from households.models import AssignmentKind, HelperAssignment, Household, Person
from tests.accounts import factories as af
from tests.households import factories as hf


def _refusal(call, **kwargs) -> dict[str, list[str]]:
    """Run a service expected to refuse; return its field → messages, in Chinese."""
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        call(**kwargs)
    return exc.value.message_dict


# --- households ------------------------------------------------------------------------------


def test_household_create(areas, cadre):
    hh = services.household_create(
        actor=cadre,
        number=" 1307271002010001 ",
        village=areas["v11"],
        address="一村3组",
        household_type="out_of_poverty",
        cultivated_land_mu="4.5",
    )
    hh.refresh_from_db()
    assert hh.number == "1307271002010001"
    assert hh.village == areas["v11"]
    assert hh.area_code == "130727100201"
    assert hh.household_type == "out_of_poverty"
    assert hh.head is None


def test_household_create_takes_a_village_pk(areas, cadre):
    hh = services.household_create(actor=cadre, number="H1", village=areas["v11"].pk)
    assert hh.area_code == areas["v11"].code


def test_household_create_outside_the_area_is_refused(areas, cadre):
    errors = _refusal(services.household_create, actor=cadre, number="H1", village=areas["v21"])
    assert errors == {"village": ["该村不在您的工作区域内。"]}
    assert not Household.objects.exists()


def test_township_reviewer_cannot_create_in_another_township(areas, township_reviewer):
    services.household_create(actor=township_reviewer, number="H1", village=areas["v12"])
    errors = _refusal(services.household_create, actor=township_reviewer, number="H2", village=areas["v22"])
    assert errors == {"village": ["该村不在您的工作区域内。"]}


@pytest.mark.parametrize("level", ["t1", "county", "province"])
def test_non_village_area_is_refused(areas, county_approver, level):
    errors = _refusal(services.household_create, actor=county_approver, number="H1", village=areas[level])
    assert errors == {"village": ["请选择一个村。"]}


def test_missing_village_is_refused(areas, county_approver):
    errors = _refusal(services.household_create, actor=county_approver, number="H1", village=999999)
    assert errors == {"village": ["请选择一个村。"]}


@pytest.mark.parametrize("number", ["", "   ", None])
def test_household_number_is_required(areas, cadre, number):
    errors = _refusal(services.household_create, actor=cadre, number=number, village=areas["v11"])
    assert errors == {"number": ["请填写户编号。"]}


def test_household_number_is_unique(areas, cadre):
    services.household_create(actor=cadre, number="H1", village=areas["v11"])
    errors = _refusal(services.household_create, actor=cadre, number="H1", village=areas["v11"])
    assert errors == {"number": ["户编号已存在。"]}


def test_household_unknown_or_computed_fields_are_refused(areas, cadre):
    errors = _refusal(
        services.household_create,
        actor=cadre,
        number="H1",
        village=areas["v11"],
        monitoring_status="monitored",
        area_code="130727200201",
    )
    assert errors == {"area_code": ["不能修改此项。"], "monitoring_status": ["不能修改此项。"]}


def test_household_bad_choice_and_negative_land_are_refused(areas, cadre):
    with pytest.raises(ValidationError) as exc:
        services.household_create(
            actor=cadre, number="H1", village=areas["v11"], household_type="rich", cultivated_land_mu=-1
        )
    assert set(exc.value.message_dict) == {"household_type", "cultivated_land_mu"}
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.household_create(actor=cadre, number="H1", village=areas["v11"], cultivated_land_mu=-1)
    assert exc.value.message_dict == {"cultivated_land_mu": ["面积不能为负数。"]}


@pytest.mark.parametrize("role", [Role.HELPER, Role.DEPARTMENT])
def test_roles_outside_the_registry_cannot_create(areas, role):
    actor = af.user(role, areas["county"])
    with translation.override("zh-hans"), pytest.raises(NotAllowed) as exc:
        services.household_create(actor=actor, number="H1", village=areas["v11"])
    assert str(exc.value) == "您的角色不能修改农户信息。"


def test_household_update(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    services.household_update(actor=cadre, household=hh, phone="13900000000", housing_grade="C")
    hh.refresh_from_db()
    assert (hh.phone, hh.housing_grade) == ("13900000000", "C")


def test_household_update_outside_the_area_is_refused(areas, cadre):
    other = hf.household(areas["v21"])
    errors = _refusal(services.household_update, actor=cadre, household=other, phone="1")
    assert errors == {"village": ["该村不在您的工作区域内。"]}


def test_household_move_to_another_village(areas, township_reviewer, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre)
    services.household_update(actor=township_reviewer, household=hh, village=areas["v12"], reason="区划调整")
    hh.refresh_from_db()
    assert (hh.village, hh.area_code) == (areas["v12"], areas["v12"].code)
    # The cadre of v11 no longer sees it, nor its members.
    assert not Household.objects.for_user(cadre).exists()
    assert not Person.objects.for_user(cadre).exists()


def test_household_move_out_of_the_area_is_refused(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    errors = _refusal(services.household_update, actor=cadre, household=hh, village=areas["v12"])
    assert errors == {"village": ["该村不在您的工作区域内。"]}
    errors = _refusal(services.household_update, actor=cadre, household=hh, village=areas["t1"])
    assert errors == {"village": ["请选择一个村。"]}
    hh.refresh_from_db()
    assert hh.area_code == areas["v11"].code


def test_household_number_cannot_be_changed_by_update(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    errors = _refusal(services.household_update, actor=cadre, household=hh, number="X")
    assert errors == {"number": ["不能修改此项。"]}


# --- people ------------------------------------------------------------------------------------


def test_person_add_derives_birth_date_and_sex(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    number = idnumber.make("130727", dt.date(1975, 3, 8), 124)
    person = services.person_add(
        actor=cadre, household=hh, id_number=number.lower(), name=" 张三 ", relation="head"
    )
    person.refresh_from_db()
    assert person.id_number == number
    assert person.birth_date == dt.date(1975, 3, 8)
    assert person.sex == "F"
    assert person.name == "张三"
    hh.refresh_from_db()
    assert hh.head == person


def test_first_head_becomes_the_household_head_and_second_does_not_replace_it(areas, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre)
    head = hh.head
    assert head is not None
    services.person_add(actor=cadre, household=hh, id_number=hf.id_number(), name="另一人", relation="head")
    hh.refresh_from_db()
    assert hh.head == head


def test_person_add_does_not_overwrite_a_newer_household_edit(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    stale = Household.objects.get(pk=hh.pk)
    services.household_update(actor=cadre, household=hh, phone="13911112222")
    services.person_add(actor=cadre, household=stale, id_number=hf.id_number(), name="户主", relation="head")
    hh.refresh_from_db()
    assert hh.phone == "13911112222"
    assert hh.head is not None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("110105194912310021", "公民身份号码校验位错误，请核对。"),
        ("110105491231002", "这是15位旧版身份证号码，请填写18位公民身份号码。"),
        ("1101051949123100", "公民身份号码应为18位。"),
        ("11010519491231002A", "公民身份号码前17位须为数字，最后一位为数字或X。"),
        ("", "公民身份号码应为18位。"),
    ],
)
def test_person_add_refuses_invalid_id_numbers(areas, cadre, raw, message):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    errors = _refusal(services.person_add, actor=cadre, household=hh, id_number=raw, name="张三")
    assert errors == {"id_number": [message]}
    assert not Person.objects.exists()


def test_person_add_refuses_a_bad_birth_date(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    first17 = "13072719900230123"
    raw = first17 + idnumber.check_char(first17)
    errors = _refusal(services.person_add, actor=cadre, household=hh, id_number=raw, name="张三")
    assert errors == {"id_number": ["公民身份号码中的出生日期无效。"]}


def test_person_add_refuses_a_birth_date_in_the_future(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    future = timezone.localdate() + dt.timedelta(days=30)
    raw = idnumber.make("130727", future, 11)
    errors = _refusal(services.person_add, actor=cadre, household=hh, id_number=raw, name="张三")
    assert errors == {"id_number": ["公民身份号码中的出生日期晚于今天。"]}


def test_person_add_requires_a_name(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    errors = _refusal(services.person_add, actor=cadre, household=hh, id_number=hf.id_number(), name="  ")
    assert errors == {"name": ["请填写姓名。"]}


def test_person_in_two_households_is_refused_naming_the_household(areas, cadre, township_reviewer):
    first = hf.household(areas["v11"], members=1, actor=cadre)
    number = first.head.id_number
    second = hf.household(areas["v12"], members=0, actor=township_reviewer)
    for variant in (number, number.lower(), f" {number[:6]} {number[6:]} "):
        errors = _refusal(
            services.person_add, actor=township_reviewer, household=second, id_number=variant, name="张三"
        )
        assert errors == {
            "id_number": [
                f"该公民身份号码已登记在户 {first.number} 中；一人只能属于一户，如需迁移请办理成员迁移。"
            ]
        }
    assert Person.objects.filter(id_number=number).count() == 1


def test_full_width_copy_of_a_registered_number_is_the_same_person(areas, cadre):
    first = hf.household(areas["v11"], members=1, actor=cadre)
    number = first.head.id_number
    full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    second = hf.household(areas["v11"], members=0, actor=cadre)
    errors = _refusal(services.person_add, actor=cadre, household=second, id_number=full_width, name="张三")
    assert list(errors) == ["id_number"]
    assert first.number in errors["id_number"][0]


def test_the_same_household_twice_is_refused_too(areas, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre)
    errors = _refusal(
        services.person_add, actor=cadre, household=hh, id_number=hh.head.id_number, name="张三"
    )
    assert hh.number in errors["id_number"][0]


def test_person_add_outside_the_area_is_refused(areas, cadre):
    other = hf.household(areas["v21"], members=0)
    errors = _refusal(
        services.person_add, actor=cadre, household=other, id_number=hf.id_number(), name="张三"
    )
    assert errors == {"household": ["该村不在您的工作区域内。"]}


def test_person_add_refuses_unknown_fields(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    errors = _refusal(
        services.person_add,
        actor=cadre,
        household=hh,
        id_number=hf.id_number(),
        name="张三",
        sex="F",
        birth_date=dt.date(2000, 1, 1),
    )
    assert errors == {"birth_date": ["不能修改此项。"], "sex": ["不能修改此项。"]}


def test_person_update_changes_id_number_and_derived_fields(areas, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre)
    new = idnumber.make("130727", dt.date(1961, 10, 1), 35)
    services.person_update(actor=cadre, person=hh.head, id_number=new, reason="身份证号码录错")
    person = Person.objects.get(pk=hh.head_id)
    assert (person.id_number, person.birth_date, person.sex) == (new, dt.date(1961, 10, 1), "M")


def test_person_update_refuses_an_id_of_another_person(areas, cadre):
    a = hf.household(areas["v11"], members=1, actor=cadre)
    b = hf.household(areas["v11"], members=1, actor=cadre)
    errors = _refusal(services.person_update, actor=cadre, person=b.head, id_number=a.head.id_number)
    assert a.number in errors["id_number"][0]
    # Re-saving one's own number is fine.
    services.person_update(actor=cadre, person=a.head, id_number=a.head.id_number.lower())


def test_person_update_refuses_an_invalid_id(areas, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre)
    errors = _refusal(services.person_update, actor=cadre, person=hh.head, id_number="110105194912310021")
    assert errors == {"id_number": ["公民身份号码校验位错误，请核对。"]}


def test_person_update_outside_the_area_is_refused(areas, cadre):
    other = hf.household(areas["v21"], members=1)
    errors = _refusal(services.person_update, actor=cadre, person=other.head, name="改名")
    assert errors == {"household": ["该村不在您的工作区域内。"]}


def test_person_update_of_relation_keeps_the_head_in_step(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    old_head = hh.head
    child = hh.members.exclude(pk=old_head.pk).get()
    services.person_update(actor=cadre, person=old_head, relation="parent", reason="户主变更")
    hh.refresh_from_db()
    assert hh.head is None
    services.person_update(actor=cadre, person=child, relation="head", reason="户主变更")
    hh.refresh_from_db()
    assert hh.head == child


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def household_v11(areas, cadre):
    return hf.household(areas["v11"], members=1, actor=cadre)


def test_assigning_a_new_responsible_helper_ends_the_previous_one(areas, cadre, household_v11):
    first = hf.helper(areas["county"], name="甲")
    second = hf.helper(areas["county"], name="乙")
    a1 = services.helper_assign(
        actor=cadre, helper=first, household=household_v11, start_date=dt.date(2024, 1, 1)
    )
    a2 = services.helper_assign(
        actor=cadre, helper=second, household=household_v11, start_date=dt.date(2024, 7, 1)
    )
    a1.refresh_from_db()
    assert a1.end_date == dt.date(2024, 6, 30)
    assert a2.end_date is None
    assert a1.history.first().history_change_reason == "更换帮扶责任人"
    active = HelperAssignment.objects.active(on=dt.date(2024, 7, 1)).filter(household=household_v11)
    assert list(active) == [a2]
    assert list(HelperAssignment.objects.active(on=dt.date(2024, 6, 30))) == [a1]


def test_assigning_the_same_helper_twice_is_refused(areas, cadre, household_v11):
    helper = hf.helper(areas["county"])
    services.helper_assign(
        actor=cadre, helper=helper, household=household_v11, start_date=dt.date(2024, 1, 1)
    )
    errors = _refusal(
        services.helper_assign,
        actor=cadre,
        helper=helper,
        household=household_v11,
        start_date=dt.date(2024, 3, 1),
    )
    assert errors == {"helper": ["该帮扶人已在帮扶此户。"]}
    assert HelperAssignment.objects.count() == 1


def test_same_helper_with_an_end_date_still_ahead_is_refused(areas, cadre, household_v11):
    helper = hf.helper(areas["county"])
    a = services.helper_assign(
        actor=cadre, helper=helper, household=household_v11, start_date=dt.date(2024, 1, 1)
    )
    services.helper_unassign(actor=cadre, assignment=a, end_date=dt.date(2024, 12, 31))
    errors = _refusal(
        services.helper_assign,
        actor=cadre,
        helper=helper,
        household=household_v11,
        start_date=dt.date(2024, 6, 1),
    )
    assert errors == {"helper": ["该帮扶人已在帮扶此户。"]}
    # After the end, the same helper can be assigned again.
    services.helper_assign(
        actor=cadre, helper=helper, household=household_v11, start_date=dt.date(2025, 1, 1)
    )


def test_replacing_a_helper_whose_end_is_ahead_ends_them_the_day_before(areas, cadre, household_v11):
    first = hf.helper(areas["county"], name="甲")
    second = hf.helper(areas["county"], name="乙")
    a1 = services.helper_assign(
        actor=cadre, helper=first, household=household_v11, start_date=dt.date(2024, 1, 1)
    )
    services.helper_unassign(actor=cadre, assignment=a1, end_date=dt.date(2024, 12, 31))
    services.helper_assign(
        actor=cadre, helper=second, household=household_v11, start_date=dt.date(2024, 9, 1)
    )
    a1.refresh_from_db()
    assert a1.end_date == dt.date(2024, 8, 31)
    assert HelperAssignment.objects.active(on=dt.date(2024, 10, 1)).count() == 1


def test_new_helper_cannot_start_before_the_current_one(areas, cadre, household_v11):
    first = hf.helper(areas["county"], name="甲")
    second = hf.helper(areas["county"], name="乙")
    services.helper_assign(actor=cadre, helper=first, household=household_v11, start_date=dt.date(2024, 6, 1))
    errors = _refusal(
        services.helper_assign,
        actor=cadre,
        helper=second,
        household=household_v11,
        start_date=dt.date(2024, 1, 1),
    )
    assert errors == {"start_date": ["开始时间不能早于现任帮扶人的开始时间。"]}


def test_a_helper_of_another_county_is_refused(areas, cadre, household_v11):
    other_county = af.area("130728000000", "怀安县", "county", areas["city"])
    helper = hf.helper(other_county)
    errors = _refusal(
        services.helper_assign,
        actor=cadre,
        helper=helper,
        household=household_v11,
        start_date=dt.date(2024, 1, 1),
    )
    assert errors == {"helper": ["帮扶责任人不属于该户所在县。"]}
    assert not HelperAssignment.objects.exists()


def test_kinds_are_independent_and_other_helpers_are_many(areas, cadre, household_v11):
    responsible = hf.helper(areas["county"], name="责任人")
    doctor = hf.helper(areas["county"], name="医生")
    n1 = hf.helper(areas["county"], name="力量一")
    n2 = hf.helper(areas["county"], name="力量二")
    start = dt.date(2024, 1, 1)
    services.helper_assign(actor=cadre, helper=responsible, household=household_v11, start_date=start)
    services.helper_assign(
        actor=cadre, helper=doctor, household=household_v11, start_date=start, kind=AssignmentKind.DOCTOR
    )
    services.helper_assign(
        actor=cadre, helper=n1, household=household_v11, start_date=start, kind=AssignmentKind.OTHER
    )
    services.helper_assign(
        actor=cadre, helper=n2, household=household_v11, start_date=start, kind=AssignmentKind.OTHER
    )
    assert HelperAssignment.objects.active(on=start).count() == 4
    errors = _refusal(
        services.helper_assign,
        actor=cadre,
        helper=n1,
        household=household_v11,
        start_date=start,
        kind=AssignmentKind.OTHER,
    )
    assert errors == {"helper": ["该帮扶人已在帮扶此户。"]}


def test_helper_assignment_outside_the_area_is_refused(areas, cadre):
    other = hf.household(areas["v21"], members=0)
    helper = hf.helper(areas["county"])
    errors = _refusal(
        services.helper_assign, actor=cadre, helper=helper, household=other, start_date=dt.date(2024, 1, 1)
    )
    assert errors == {"household": ["该村不在您的工作区域内。"]}


@pytest.mark.parametrize("role", [Role.HELPER, Role.DEPARTMENT])
def test_roles_outside_the_registry_cannot_assign_helpers(areas, household_v11, role):
    actor = af.user(role, areas["county"])
    helper = hf.helper(areas["county"])
    with pytest.raises(NotAllowed):
        services.helper_assign(
            actor=actor, helper=helper, household=household_v11, start_date=dt.date(2024, 1, 1)
        )


def test_helper_unassign(areas, cadre, household_v11):
    helper = hf.helper(areas["county"])
    a = services.helper_assign(
        actor=cadre, helper=helper, household=household_v11, start_date=dt.date(2024, 1, 1)
    )
    ended = services.helper_unassign(actor=cadre, assignment=a, end_date=dt.date(2024, 3, 31), reason="调离")
    assert ended.end_date == dt.date(2024, 3, 31)
    assert ended.history.first().history_change_reason == "调离"
    errors = _refusal(services.helper_unassign, actor=cadre, assignment=a, end_date=dt.date(2023, 12, 31))
    assert errors == {"end_date": ["结束时间不能早于开始时间。"]}


def test_helper_unassign_outside_the_area_is_refused(areas, cadre, county_approver):
    other = hf.household(areas["v21"], members=0)
    helper = hf.helper(areas["county"])
    a = services.helper_assign(
        actor=county_approver, helper=helper, household=other, start_date=dt.date(2024, 1, 1)
    )
    errors = _refusal(services.helper_unassign, actor=cadre, assignment=a, end_date=dt.date(2024, 3, 31))
    assert errors == {"household": ["该村不在您的工作区域内。"]}


def test_english_override_still_refuses_with_the_field(areas, cadre):
    # No English catalogue yet: only the field is checked, not the text.
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        services.household_create(actor=cadre, number="H1", village=areas["v21"])
    assert list(exc.value.message_dict) == ["village"]
    assert exc.value.message_dict["village"][0]


@pytest.mark.parametrize("village", ["abc", None, "", [1]])
def test_village_that_is_not_a_key_is_refused(areas, county_approver, village):
    errors = _refusal(services.household_create, actor=county_approver, number="H1", village=village)
    assert errors == {"village": ["请选择一个村。"]}


def test_the_forms_take_their_fields_from_the_services():
    from households import forms

    assert tuple(forms.HouseholdPageForm.base_fields)[:2] == ("number", "village")
    assert tuple(forms.HouseholdPageForm.base_fields)[2:] == services.HOUSEHOLD_FIELDS
    assert set(forms.HouseholdForm.base_fields) == {"number", "village", "reason", *services.HOUSEHOLD_FIELDS}
    assert forms.PersonPageForm._meta.fields == ("name", "id_number", *services.PERSON_DETAIL_FIELDS)
    assert set(services.PERSON_FIELDS) == {"name", *services.PERSON_DETAIL_FIELDS}
