"""``field__any=[…]`` (config/lookups.py) finds exactly what ``field__in`` finds, on every backend."""

from __future__ import annotations

from django.db import connection

from households.models import Household, Person
from tests.households import factories as hf


def test_any_equals_in_for_keys_relations_and_text(areas):
    homes = [hf.household(areas["v11"], members=2) for _ in range(3)]
    ids = [homes[0].pk, homes[2].pk, 999_999]
    assert set(Household.objects.filter(pk__any=ids)) == set(Household.objects.filter(pk__in=ids))
    assert Person.objects.filter(household_id__any=ids).count() == 4
    assert Person.objects.filter(household__any=ids).count() == 4
    numbers = [homes[1].number, "nope"]
    assert list(Household.objects.filter(number__any=numbers)) == [homes[1]]
    assert not Household.objects.filter(pk__any=[]).exists()
    assert Household.objects.exclude(pk__any=[]).count() == 3


def test_on_postgresql_the_list_is_one_parameter(areas):
    query = Household.objects.filter(pk__any=list(range(5000))).query
    sql, params = query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(%s)" in sql and len(params) == 1 and len(params[0]) == 5000
    else:
        assert len(params) == 5000
