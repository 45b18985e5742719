"""The area tree and the prefix test behind "inside my area"."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.models import Area, AreaLevel, Role, area_prefix_q
from tests.accounts import factories as af


def _clean_errors(area: Area) -> dict[str, list[str]]:
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        area.full_clean()
    return exc.value.message_dict


# --- Area.prefix and the tree ---------------------------------------------------------------


def test_prefix_per_level(areas):
    assert areas["province"].prefix == "13"
    assert areas["city"].prefix == "1307"
    assert areas["county"].prefix == "130727"
    assert areas["t1"].prefix == "130727100"
    assert areas["v11"].prefix == "130727100201"


def test_under(areas):
    assert set(Area.objects.under(areas["t1"])) == {areas["t1"], areas["v11"], areas["v12"]}
    assert list(Area.objects.under(areas["v11"])) == [areas["v11"]]
    assert Area.objects.under(areas["province"]).count() == 9


def test_ancestor_county_and_full_name(areas):
    v = areas["v21"]
    assert v.ancestor(AreaLevel.TOWNSHIP) == areas["t2"]
    assert v.county == areas["county"]
    assert areas["county"].county == areas["county"]
    assert areas["province"].county is None
    assert v.full_name == "阳原县东城镇三村"
    assert str(v) == "三村"


def test_area_prefix_q_with_no_prefixes_matches_nothing(areas):
    assert not Area.objects.filter(area_prefix_q("code", [])).exists()
    assert Area.objects.filter(area_prefix_q("code", ["130727100", "130727200201"])).count() == 4


# --- Area.clean ------------------------------------------------------------------------------


def test_valid_areas_clean(areas):
    for area in areas.values():
        area.full_clean()


def test_new_village_under_a_township_cleans(areas):
    Area(code="130727100203", name="新村", level=AreaLevel.VILLAGE, parent=areas["t1"]).full_clean()


@pytest.mark.parametrize(
    "code", ["13072710020", "1307271002011", "13072710020A", "", "１３０７２７１００２０３"]
)
def test_code_must_be_twelve_digits(areas, code):
    area = Area(code=code, name="坏村", level=AreaLevel.VILLAGE, parent=areas["t1"])
    errors = _clean_errors(area)
    assert "code" in errors
    if code and len(code) == 12:
        assert errors["code"] == ["区划代码须为12位数字。"]


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("130727100001", AreaLevel.TOWNSHIP, "county"),  # digits after the township's 9
        ("130727010000", AreaLevel.COUNTY, "city"),
        ("130800000001", AreaLevel.CITY, "province"),
    ],
)
def test_digits_after_the_significant_prefix_must_be_zero(areas, code, level, parent):
    errors = _clean_errors(Area(code=code, name="坏", level=level, parent=areas[parent]))
    assert errors == {"code": ["该层级的区划代码在有效位之后应全为0。"]}


def test_code_must_start_with_the_parents_prefix(areas):
    errors = _clean_errors(
        Area(code="130727200203", name="错村", level=AreaLevel.VILLAGE, parent=areas["t1"])
    )
    assert errors == {"code": ["区划代码必须以上级区划代码开头。"]}
    errors = _clean_errors(
        Area(code="130728100000", name="错镇", level=AreaLevel.TOWNSHIP, parent=areas["county"])
    )
    assert errors == {"code": ["区划代码必须以上级区划代码开头。"]}


def test_parent_must_be_of_the_level_above(areas):
    errors = _clean_errors(
        Area(code="130727100203", name="错村", level=AreaLevel.VILLAGE, parent=areas["county"])
    )
    assert errors == {"parent": ["上级区划的层级不对。"]}
    errors = _clean_errors(
        Area(code="140000000000", name="错省", level=AreaLevel.PROVINCE, parent=areas["province"])
    )
    assert errors == {"parent": ["上级区划的层级不对。"]}


def test_a_bad_level_is_reported_not_a_crash(areas):
    errors = _clean_errors(Area(code="130727100203", name="新村", level="hamlet", parent=areas["t1"]))
    assert list(errors) == ["level"]


def test_code_is_unique(areas):
    errors = _clean_errors(
        Area(code="130727100201", name="重复", level=AreaLevel.VILLAGE, parent=areas["t1"])
    )
    assert list(errors) == ["code"]


# --- User.covers and friends ----------------------------------------------------------------


def test_covers_for_a_village_cadre(areas, cadre):
    assert cadre.covers(areas["v11"].code)
    assert not cadre.covers(areas["v12"].code)
    assert not cadre.covers(areas["v21"].code)
    assert not cadre.covers(areas["t1"].code)  # the township is above the village, not inside it
    assert not cadre.covers("")


def test_covers_for_a_township_reviewer(areas, township_reviewer):
    assert township_reviewer.covers(areas["v11"].code)
    assert township_reviewer.covers(areas["v12"].code)
    assert township_reviewer.covers(areas["t1"].code)
    assert not township_reviewer.covers(areas["v21"].code)
    assert not township_reviewer.covers(areas["county"].code)


def test_covers_for_a_county_approver(areas, county_approver):
    for key in ("county", "t1", "t2", "v11", "v12", "v21", "v22"):
        assert county_approver.covers(areas[key].code), key
    assert not county_approver.covers("130728100201")  # the neighbouring county
    assert not county_approver.covers(areas["city"].code)


def test_covers_with_several_areas(areas):
    user = af.user(Role.VILLAGE_CADRE, areas["v11"], areas["v22"])
    assert user.scope_prefixes() == ["130727100201", "130727200202"]
    assert user.covers(areas["v22"].code)
    assert not user.covers(areas["v21"].code)


def test_covers_without_areas_is_false(areas):
    assert not af.user(Role.COUNTY_APPROVER).covers(areas["v11"].code)


def test_superuser_covers_everything(areas):
    root = af.user(Role.OPERATOR, is_superuser=True)
    assert root.covers("440000000000")
    assert root.sees_everything


def test_inactive_users_cover_nothing(areas):
    user = af.user(Role.COUNTY_APPROVER, areas["county"], is_active=False)
    assert not user.covers(areas["v11"].code)
    root = af.user(Role.OPERATOR, is_superuser=True, is_active=False)
    assert not root.covers(areas["v11"].code)


def test_has_role(areas, cadre):
    assert cadre.has_role(Role.VILLAGE_CADRE, Role.OPERATOR)
    assert not cadre.has_role(Role.COUNTY_APPROVER)
    assert af.user(Role.DEPARTMENT, is_superuser=True).has_role(Role.COUNTY_APPROVER)


# --- Area.objects.for_user -------------------------------------------------------------------


def test_areas_for_user(areas, cadre, township_reviewer, county_approver):
    assert list(Area.objects.for_user(cadre)) == [areas["v11"]]
    assert set(Area.objects.for_user(township_reviewer)) == {areas["t1"], areas["v11"], areas["v12"]}
    assert set(Area.objects.for_user(county_approver)) == {
        areas[k] for k in ("county", "t1", "t2", "v11", "v12", "v21", "v22")
    }


def test_areas_for_anonymous_and_inactive_users_are_empty(areas):
    assert not Area.objects.for_user(AnonymousUser()).exists()
    assert not Area.objects.for_user(af.user(Role.COUNTY_APPROVER, areas["county"], is_active=False)).exists()


def test_areas_for_superuser_are_all(areas):
    root = af.user(Role.OPERATOR, is_superuser=True)
    assert Area.objects.for_user(root).count() == len(areas)
