"""Phone numbers, the land area's message, and services that report every error of one call."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import translation

from accounts.errors import ValidationError
from accounts.models import User
from accounts.validators import validate_phone
from households import services
from households.models import Helper, Household, Person
from tests.households import factories as hf

GOOD_PHONES = [
    "13800138000",
    "19912345678",
    "+8613800138000",
    "0313-1234567",
    "03131234567",
    "010-12345678",
    "0313-1234567-801",
    "0313-1234567转801",
]
BAD_PHONES = [
    "1234567",
    "12800138000",
    "1380013800",
    "138001380001",
    "313-1234567",
    "0313-123456",
    "电话",
    "0313 1234567x",
]


@pytest.mark.parametrize("value", GOOD_PHONES)
def test_mainland_mobiles_and_landlines_are_accepted(value):
    validate_phone(value)


@pytest.mark.parametrize("value", BAD_PHONES)
def test_other_numbers_are_refused_saying_what_is_expected(value):
    with translation.override("zh-hans"), pytest.raises(DjangoValidationError) as exc:
        validate_phone(value)
    assert "11位手机号码" in exc.value.messages[0] and "区号" in exc.value.messages[0]
    with translation.override("en"):
        with pytest.raises(DjangoValidationError) as exc:
            validate_phone(value)
        assert "11-digit mobile number" in exc.value.messages[0]


@pytest.mark.parametrize(
    "model, field",
    [(Household, "phone"), (Household, "monitoring_contact_phone"), (Helper, "phone"), (User, "phone")],
)
def test_every_phone_field_uses_the_one_validator(model, field):
    assert validate_phone in model._meta.get_field(field).validators


def test_a_seven_digit_phone_is_refused_by_the_service(areas, cadre):
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=cadre, number="H9", village=areas["v11"], phone="1234567")
    assert set(exc.value.message_dict) == {"phone"}
    assert not Household.objects.filter(number="H9").exists()


def test_negative_land_area_is_about_the_area_not_an_amount(areas, cadre):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.household_create(actor=cadre, number="H9", village=areas["v11"], cultivated_land_mu=-2)
    assert exc.value.message_dict == {"cultivated_land_mu": ["面积不能为负数。"]}


def test_household_create_reports_every_error_at_once(areas, cadre):
    taken = hf.household(areas["v11"], actor=cadre)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.household_create(
            actor=cadre,
            number=taken.number,
            village=areas["v11"],
            phone="1234567",
            monitoring_contact_phone="12",
            cultivated_land_mu=-1,
            household_type="rich",
        )
    errors = exc.value.message_dict
    assert errors["number"] == ["户编号已存在。"]
    assert set(errors) == {
        "number",
        "phone",
        "monitoring_contact_phone",
        "cultivated_land_mu",
        "household_type",
    }


def test_household_create_without_a_village_still_checks_the_rest(areas, cadre):
    with pytest.raises(ValidationError) as exc:
        services.household_create(actor=cadre, number="", village=None, phone="1")
    assert set(exc.value.message_dict) == {"number", "village", "phone"}


def test_household_update_reports_every_error_at_once(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    with pytest.raises(ValidationError) as exc:
        services.household_update(
            actor=cadre, household=hh, village=areas["county"], phone="1", cultivated_land_mu=-1
        )
    assert set(exc.value.message_dict) == {"village", "phone", "cultivated_land_mu"}


def test_person_add_reports_every_error_at_once(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    before = Person.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.person_add(
            actor=cadre, household=hh, id_number="123", name=" ", relation="king", work_months=-1
        )
    assert set(exc.value.message_dict) == {"id_number", "name", "relation", "work_months"}
    assert Person.objects.count() == before


def test_person_update_reports_every_error_at_once(areas, cadre):
    hh = hf.household(areas["v11"], members=1, actor=cadre)
    person = hh.members.get()
    with pytest.raises(ValidationError) as exc:
        services.person_update(actor=cadre, person=person, id_number="x", relation="king")
    assert set(exc.value.message_dict) == {"id_number", "relation"}
