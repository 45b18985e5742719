"""Who sees what in the registry: ``for_user`` on households, people, income and helpers."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import Area, AreaLevel, Role
from households import services
from households.models import HelperAssignment, Household, IncomeRecord, Person
from tests.accounts import factories as af
from tests.households import factories as hf

MODELS = (Household, Person, IncomeRecord, HelperAssignment)


@pytest.fixture
def world(areas):
    """One household in each of the four villages and one in a neighbouring county.

    Each has two members, an income record and a responsible helper.
    """
    other_county = af.area("130728000000", "怀安县", AreaLevel.COUNTY, areas["city"])
    other_township = af.area("130728100000", "柴沟堡镇", AreaLevel.TOWNSHIP, other_county)
    other_village = af.area("130728100201", "五村", AreaLevel.VILLAGE, other_township)
    helpers = {
        "county": hf.helper(areas["county"], name="本县帮扶人"),
        "other": hf.helper(other_county, name="邻县帮扶人"),
    }
    households = {}
    for key, village in [
        ("v11", areas["v11"]),
        ("v12", areas["v12"]),
        ("v21", areas["v21"]),
        ("v22", areas["v22"]),
        ("x", other_village),
    ]:
        hh = hf.household(village, members=2)
        services.income_record_set(actor=None, household=hh, year=2024, wages=10000)
        services.helper_assign(
            actor=None,
            helper=helpers["other" if key == "x" else "county"],
            household=hh,
            start_date=dt.date(2024, 1, 1),
        )
        households[key] = hh
    return {"households": households, "other_county": other_county, "other_village": other_village}


def _visible(user) -> dict[str, set[str]]:
    """For each model, the household numbers of the rows the user sees."""
    return {
        "households": set(Household.objects.for_user(user).values_list("number", flat=True)),
        "persons": set(Person.objects.for_user(user).values_list("household__number", flat=True)),
        "incomes": set(IncomeRecord.objects.for_user(user).values_list("household__number", flat=True)),
        "assignments": set(
            HelperAssignment.objects.for_user(user).values_list("household__number", flat=True)
        ),
    }


def _numbers(world, *keys) -> set[str]:
    return {world["households"][k].number for k in keys}


def _sees_exactly(user, expected: set[str]) -> None:
    for model, numbers in _visible(user).items():
        assert numbers == expected, model


def test_village_cadre_sees_only_their_village(world, cadre):
    _sees_exactly(cadre, _numbers(world, "v11"))
    assert Person.objects.for_user(cadre).count() == 2


def test_cadre_of_another_village_never_sees_village_a(world, areas):
    cadre_v21 = af.user(Role.VILLAGE_CADRE, areas["v21"])
    _sees_exactly(cadre_v21, _numbers(world, "v21"))


def test_cadre_of_two_villages_sees_both(world, areas):
    cadre = af.user(Role.VILLAGE_CADRE, areas["v11"], areas["v22"])
    _sees_exactly(cadre, _numbers(world, "v11", "v22"))


def test_township_reviewer_sees_all_its_villages_and_nothing_else(world, township_reviewer):
    _sees_exactly(township_reviewer, _numbers(world, "v11", "v12"))


def test_county_approver_sees_the_county(world, county_approver):
    _sees_exactly(county_approver, _numbers(world, "v11", "v12", "v21", "v22"))


def test_operator_sees_their_county_only(world, operator):
    _sees_exactly(operator, _numbers(world, "v11", "v12", "v21", "v22"))


def test_superuser_sees_everything(world):
    root = af.user(Role.OPERATOR, is_superuser=True, is_staff=True)
    _sees_exactly(root, _numbers(world, "v11", "v12", "v21", "v22", "x"))


def test_department_user_sees_nothing_in_the_registry(world, areas):
    dept = af.user(Role.DEPARTMENT, areas["county"])
    _sees_exactly(dept, set())


def test_user_without_areas_sees_nothing(world):
    _sees_exactly(af.user(Role.COUNTY_APPROVER), set())


@pytest.mark.parametrize("role", [Role.VILLAGE_CADRE, Role.COUNTY_APPROVER, Role.OPERATOR])
def test_inactive_users_see_nothing(world, areas, role):
    user = af.user(role, areas["county"], is_active=False)
    _sees_exactly(user, set())


def test_inactive_superuser_sees_nothing(world):
    root = af.user(Role.OPERATOR, is_superuser=True, is_active=False)
    _sees_exactly(root, set())


def test_anonymous_sees_nothing(world):
    _sees_exactly(AnonymousUser(), set())
    assert not Area.objects.for_user(AnonymousUser()).exists()


# --- helpers --------------------------------------------------------------------------------


def test_helper_sees_assigned_households_only(world, areas, helper_user, county_approver):
    user, helper = helper_user, helper_user.helper_profile
    services.helper_assign(
        actor=county_approver,
        helper=helper,
        household=world["households"]["v21"],
        start_date=dt.date(2024, 2, 1),
    )
    visible = _visible(user)
    assert visible["households"] == _numbers(world, "v21")
    assert visible["persons"] == _numbers(world, "v21")
    assert visible["incomes"] == _numbers(world, "v21")
    assert visible["assignments"] == _numbers(world, "v21")
    assert Person.objects.for_user(user).count() == 2


def test_helper_without_assignments_sees_nothing(world, helper_user):
    user = helper_user
    _sees_exactly(user, set())


def test_helper_no_longer_sees_a_household_after_the_assignment_ends(world, helper_user, county_approver):
    user, helper = helper_user, helper_user.helper_profile
    hh = world["households"]["v12"]
    today = timezone.localdate()
    assignment = services.helper_assign(
        actor=county_approver, helper=helper, household=hh, start_date=today - dt.timedelta(days=60)
    )
    assert _visible(user)["households"] == {hh.number}

    services.helper_unassign(
        actor=county_approver, assignment=assignment, end_date=today - dt.timedelta(days=1), reason="调离"
    )
    _sees_exactly(user, set())


def test_helper_replaced_by_another_loses_the_household(world, areas, helper_user, county_approver):
    user, helper = helper_user, helper_user.helper_profile
    hh = world["households"]["v12"]
    today = timezone.localdate()
    services.helper_assign(
        actor=county_approver, helper=helper, household=hh, start_date=today - dt.timedelta(days=60)
    )
    successor = hf.helper(areas["county"], name="接任者")
    services.helper_assign(actor=county_approver, helper=successor, household=hh, start_date=today)
    _sees_exactly(user, set())


def test_helper_with_a_future_assignment_does_not_see_it_yet(world, helper_user, county_approver):
    user, helper = helper_user, helper_user.helper_profile
    hh = world["households"]["v12"]
    services.helper_assign(
        actor=county_approver,
        helper=helper,
        household=hh,
        start_date=timezone.localdate() + dt.timedelta(days=10),
        kind="other",
    )
    _sees_exactly(user, set())


def test_helper_assignment_of_another_helper_user_is_not_visible(world, areas, county_approver):
    user_a = af.user(Role.HELPER)
    user_b = af.user(Role.HELPER)
    helper_a = hf.helper(areas["county"], user_obj=user_a, name="甲")
    hf.helper(areas["county"], user_obj=user_b, name="乙")
    services.helper_assign(
        actor=county_approver,
        helper=helper_a,
        household=world["households"]["v22"],
        start_date=dt.date(2024, 5, 1),
    )
    _sees_exactly(user_b, set())


def test_inactive_helper_sees_nothing(world, helper_user, county_approver):
    user, helper = helper_user, helper_user.helper_profile
    services.helper_assign(
        actor=county_approver,
        helper=helper,
        household=world["households"]["v21"],
        start_date=dt.date(2024, 2, 1),
    )
    user.is_active = False
    user.save()
    _sees_exactly(user, set())


# --- the area tree ----------------------------------------------------------------------------


def test_areas_for_user(world, areas, cadre, township_reviewer, county_approver):
    assert list(Area.objects.for_user(cadre)) == [areas["v11"]]
    assert set(Area.objects.for_user(township_reviewer)) == {areas["t1"], areas["v11"], areas["v12"]}
    county_areas = set(Area.objects.for_user(county_approver))
    assert county_areas == {areas[k] for k in ("county", "t1", "t2", "v11", "v12", "v21", "v22")}
    assert world["other_village"] not in county_areas


def test_areas_for_inactive_users_are_empty(world, areas):
    user = af.user(Role.COUNTY_APPROVER, areas["county"], is_active=False)
    assert not Area.objects.for_user(user).exists()
    root = af.user(Role.OPERATOR, is_superuser=True, is_active=False)
    assert not Area.objects.for_user(root).exists()


def test_areas_for_superuser_are_all(world):
    root = af.user(Role.OPERATOR, is_superuser=True)
    assert Area.objects.for_user(root).count() == Area.objects.count()


def test_scoping_is_one_query(world, county_approver, django_assert_num_queries):
    county_approver.scope_prefixes()  # the user's areas, loaded once per request
    with django_assert_num_queries(1):
        list(Person.objects.for_user(county_approver))


def test_every_for_user_is_the_one_scoping_policy():
    from django.apps import apps

    from accounts.models import ScopedQuerySet

    scoped = [m for m in apps.get_models() if hasattr(m._default_manager.all(), "for_user")]
    assert len(scoped) >= 10
    for model in scoped:
        assert type(model._default_manager.all()).for_user is ScopedQuerySet.for_user, model
