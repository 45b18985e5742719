"""The demo county generator (households/demo/) and its commands."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Area, AreaLevel, Role, User
from households import demo, idnumber, income
from households.models import (
    Helper,
    HelperAssignment,
    Household,
    HouseholdType,
    IncomeRecord,
    Person,
    Relation,
    SchoolStatus,
)
from monitoring.models import IncomeThreshold

YEAR = 2025  # fixed, so the data does not change with the date the tests run on
REF = dt.date(YEAR, 1, 1)


def generate(households=120, seed=7, **options):
    return demo.generate_county(households=households, seed=seed, year=YEAR, **options)


def _columns(model, *skip):
    drop = {"id", "created_at", "updated_at", *skip}
    return [f.attname for f in model._meta.concrete_fields if f.attname not in drop]


def snapshot() -> dict:
    """Everything generated, by natural keys (database ids may differ between runs)."""
    return {
        "areas": list(Area.objects.order_by("code").values_list("code", "name", "level", "parent__code")),
        "households": list(
            Household.objects.order_by("number").values_list(
                *_columns(Household, "village_id", "head_id"), "village__code", "head__id_number"
            )
        ),
        "persons": list(
            Person.objects.order_by("id_number").values_list(
                *_columns(Person, "household_id"), "household__number"
            )
        ),
        "incomes": list(
            IncomeRecord.objects.order_by("household__number", "year").values_list(
                *_columns(IncomeRecord, "household_id"), "household__number"
            )
        ),
        "helpers": list(
            Helper.objects.order_by("phone", "name").values_list(*_columns(Helper, "county_id", "user_id"))
        ),
        "assignments": list(
            HelperAssignment.objects.order_by("household__number").values_list(
                "helper__name", "helper__phone", "household__number", "kind", "start_date", "end_date"
            )
        ),
        "users": sorted(
            (
                u.username,
                u.role,
                u.full_name,
                u.is_staff,
                u.is_superuser,
                tuple(a.code for a in u.areas.all()),
            )
            for u in User.objects.prefetch_related("areas")
        ),
    }


def age(person) -> int:
    return idnumber.age_on(person.birth_date, REF)


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_same_county(db):
    runs = []
    for batch_size in (5000, 37):  # the batch size does not change the data either
        with transaction.atomic():  # a savepoint: each run starts from the same empty registry
            generate(150, seed=42, batch_size=batch_size)
            runs.append(snapshot())
            transaction.set_rollback(True)
    assert Household.objects.count() == 0
    assert runs[0] == runs[1]
    assert len(runs[0]["households"]) == 150

    generate(150, seed=43)
    other = snapshot()
    assert other["areas"][:3] == runs[0]["areas"][:3]  # same province, city, county
    assert other["persons"] != runs[0]["persons"]


# --- people ----------------------------------------------------------------------------------


def test_id_numbers_valid_unique_and_the_source_of_birth_date_and_sex(db):
    generate(300)
    persons = list(Person.objects.all())
    numbers = [p.id_number for p in persons]
    assert len(set(numbers)) == len(numbers)
    for p in persons:
        info = idnumber.parse(p.id_number)
        assert (info.birth_date, info.sex) == (p.birth_date, p.sex)
        assert info.region_code == demo.DEFAULT_COUNTY_CODE[:6]
        assert p.birth_date < REF
        assert len(p.name) >= 2


def test_household_composition_fits_relations_and_ages(db):
    generate(400)
    members = defaultdict(list)
    for p in Person.objects.all():
        members[p.household_id].append(p)
    sizes = Counter()
    for hh in Household.objects.all():
        people = members[hh.pk]
        sizes[len(people)] += 1
        heads = [p for p in people if p.relation == Relation.HEAD]
        assert len(heads) == 1 and hh.head_id == heads[0].pk
        head = heads[0]
        assert age(head) >= 18
        for p in people:
            gap = age(head) - age(p)
            if p.relation == Relation.SPOUSE:
                assert abs(gap) <= 10 and p.sex != head.sex
            elif p.relation == Relation.CHILD:
                assert gap >= 18
            elif p.relation == Relation.GRANDCHILD:
                assert gap >= 36
            elif p.relation == Relation.PARENT:
                assert gap <= -18
            elif p.relation == Relation.CHILD_IN_LAW:
                assert age(p) >= 18
    assert set(sizes) <= set(range(1, 7))
    average = sum(n * c for n, c in sizes.items()) / 400
    assert 2.4 <= average <= 3.0


def test_school_status_and_labour_fit_age(db):
    generate(400)
    in_school = {
        SchoolStatus.PRIMARY: (6, 12),
        SchoolStatus.JUNIOR: (12, 15),
        SchoolStatus.SENIOR: (15, 18),
        SchoolStatus.SECONDARY_VOCATIONAL: (15, 18),
        SchoolStatus.HIGHER_VOCATIONAL: (17, 22),
        SchoolStatus.UNDERGRADUATE: (17, 23),
        SchoolStatus.PRESCHOOL: (3, 6),
    }
    seen = Counter()
    for p in Person.objects.select_related("household"):
        a = age(p)
        seen[p.school_status] += 1
        if p.school_status in in_school:
            low, high = in_school[p.school_status]
            assert low <= a <= high, (p.school_status, a)
        if 6 <= a <= 14:
            assert p.school_status in (SchoolStatus.PRIMARY, SchoolStatus.JUNIOR, SchoolStatus.DROPPED_OUT)
        if a < 3:
            assert p.school_status == ""
        if a < 16:
            assert p.labour_capacity == "none" and not p.migrant_worker
        if p.school_status == SchoolStatus.DROPPED_OUT:
            assert not p.household.compulsory_education_secure
    assert seen[SchoolStatus.PRIMARY] > 0 and seen[""] > 0


# --- households, income, areas ---------------------------------------------------------------


def test_size_scaling_and_shares(db):
    summary = generate(200)
    assert Household.objects.count() == summary.households == 200
    persons = Person.objects.count()
    assert summary.persons == persons and 2.3 * 200 <= persons <= 3.1 * 200
    assert IncomeRecord.objects.count() == summary.incomes == 400
    assert Helper.objects.count() == summary.helpers == 200 // demo.HOUSEHOLDS_PER_HELPER
    out_of_poverty = Household.objects.filter(household_type=HouseholdType.OUT_OF_POVERTY).count()
    assert 0.08 * 200 <= out_of_poverty <= 0.25 * 200
    assert HelperAssignment.objects.count() == summary.assignments == out_of_poverty
    assert set(HelperAssignment.objects.values_list("household__household_type", flat=True)) == {
        HouseholdType.OUT_OF_POVERTY
    }
    assert Household.objects.filter(housing_secure=True).count() >= 0.9 * 200
    assert {"A", "B"} <= set(Household.objects.values_list("housing_grade", flat=True))
    assert summary.rows > summary.households + summary.persons


def test_per_capita_income_is_computed_from_the_components(db):
    generate(300)
    residents = Counter(Person.objects.filter(is_resident=True).values_list("household_id", flat=True))
    years = Counter()
    for r in IncomeRecord.objects.all():
        years[r.year] += 1
        net = income.net_income(
            wages=r.wages,
            business=r.business,
            property_income=r.property_income,
            transfer=r.transfer,
            business_expenditure=r.business_expenditure,
        )
        assert r.net_income == net
        assert r.members == residents[r.household_id] >= 1
        assert r.per_capita_net_income == income.per_capita(net, r.members)
        assert min(r.wages, r.business, r.property_income, r.transfer, r.business_expenditure) >= 0
        assert not (0 < r.wages < 100)
    assert years == {YEAR - 1: 300, YEAR: 300}


def test_income_spread_around_the_years_threshold(db):
    generate(500)
    threshold = IncomeThreshold.objects.get(area__isnull=True, year=YEAR).amount
    values = sorted(IncomeRecord.objects.filter(year=YEAR).values_list("per_capita_net_income", flat=True))
    below = sum(1 for v in values if v < threshold)
    near = sum(1 for v in values if threshold <= v < threshold * 11 / 10)
    assert 0 < below <= 0.08 * len(values)
    assert near > 0
    assert values[len(values) // 2] >= threshold * 13 / 10  # most households well above


def test_area_tree_and_codes(db):
    summary = generate(200)
    county = Area.objects.get(code=demo.DEFAULT_COUNTY_CODE)
    assert (county.name, county.level, county.parent.code, county.parent.parent.code) == (
        "阳原县",
        AreaLevel.COUNTY,
        "130700000000",
        "130000000000",
    )
    townships = Area.objects.filter(level=AreaLevel.TOWNSHIP)
    villages = Area.objects.filter(level=AreaLevel.VILLAGE)
    assert townships.count() == demo.TOWNSHIPS_PER_COUNTY
    assert villages.count() >= 2 * demo.TOWNSHIPS_PER_COUNTY
    assert summary.areas == Area.objects.count()
    for area in Area.objects.select_related("parent"):
        area.full_clean()  # 12 digits, zeros after the level's prefix, under its parent
    assert townships.filter(name="西城镇", code="130727100000").exists()
    for hh in Household.objects.select_related("village"):
        assert hh.area_code == hh.village.code and hh.village.level == AreaLevel.VILLAGE
        assert hh.number.startswith(hh.area_code)
    connection.check_constraints()  # the deferred foreign keys (head, household) hold


def test_creation_history_rows(db):
    generate(60)
    assert Household.history.count() == Household.objects.count()
    assert Person.history.count() == Person.objects.count()
    assert IncomeRecord.history.count() == IncomeRecord.objects.count()
    hh = Household.objects.first()
    (created,) = hh.history.all()
    assert (created.history_type, created.history_change_reason) == ("+", demo.HISTORY_REASON)
    assert created.head_id == hh.head_id and created.number == hh.number


def test_without_history(db):
    summary = generate(30, history=False)
    assert summary.history_rows == 0
    assert Person.history.count() == 0 and Person.objects.count() == summary.persons


def test_a_second_county_beside_the_first(db):
    generate(40)
    summary = demo.generate_county(households=30, seed=7, year=YEAR, county_code="130728000000")
    assert summary.users == 0  # the demo logins exist already
    assert Area.objects.get(code="130728000000").name == "怀安县"
    assert Household.objects.filter(area_code__startswith="130728").count() == 30
    assert Person.objects.filter(id_number__startswith="130728").count() == summary.persons
    with pytest.raises(ValueError):
        demo.generate_county(households=10, year=YEAR, county_code="130728000000")


# --- demo logins -----------------------------------------------------------------------------


def test_demo_users_one_per_role(db):
    generate(150)
    county = Area.objects.get(code=demo.DEFAULT_COUNTY_CODE)
    first_township = Area.objects.filter(level=AreaLevel.TOWNSHIP).order_by("code").first()
    first_village = Area.objects.filter(level=AreaLevel.VILLAGE).order_by("code").first()
    users = {u.username: u for u in User.objects.prefetch_related("areas")}
    expected = {
        "cadre": (Role.VILLAGE_CADRE, [first_village]),
        "helper": (Role.HELPER, []),
        "township": (Role.TOWNSHIP_REVIEWER, [first_township]),
        "county": (Role.COUNTY_APPROVER, [county]),
        "dept": (Role.DEPARTMENT, [county]),
        "operator": (Role.OPERATOR, [county]),
    }
    for username, (role, areas) in expected.items():
        user = users[username]
        assert user.role == role and list(user.areas.all()) == areas
        assert user.check_password(demo.DEMO_PASSWORD)
        assert user.full_name and not user.is_superuser
        assert user.is_staff == (username == "operator")  # the admin is the operators' only
    assert users["dept"].department.code == "medical_insurance"
    admin = users["admin"]
    assert admin.is_superuser and admin.is_staff and admin.check_password(demo.DEMO_PASSWORD)

    cadre_sees = Household.objects.for_user(users["cadre"])
    assert cadre_sees.count() == Household.objects.filter(village=first_village).count() > 0
    helper = Helper.objects.get(user=users["helper"])
    assert helper.name == users["helper"].full_name
    assigned = HelperAssignment.objects.active().filter(helper=helper)
    assert assigned.filter(household__village=first_village).exists()
    assert set(Household.objects.for_user(users["helper"])) == {a.household for a in assigned}


def test_demo_logins_command_lists_every_login(db):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "generate_county" in out.getvalue()  # none yet: says how to make them
    generate(20)
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for spec in demo.DEMO_USERS:
        assert spec.username in text
    assert demo.DEMO_PASSWORD in text and "医疗保障局" in text
    # the site's sign-in page, not the admin (which only operators use)
    assert "登录地址：http://127.0.0.1:8000/accounts/login/" in text
    assert "/admin/" not in text


# --- the command -----------------------------------------------------------------------------


def test_command_if_empty_is_a_no_op_the_second_time(db):
    out = StringIO()
    call_command("generate_county", households=50, seed=3, year=YEAR, if_empty=True, stdout=out)
    assert "50" in out.getvalue()
    before = snapshot()
    out = StringIO()
    call_command("generate_county", households=80, seed=4, year=YEAR, if_empty=True, stdout=out)
    assert "跳过" in out.getvalue()
    assert snapshot() == before
    with pytest.raises(CommandError):  # without --if-empty, the county is not generated twice
        call_command("generate_county", households=50, year=YEAR, stdout=StringIO())


def test_command_rejects_bad_input(db):
    with pytest.raises(CommandError):
        call_command("generate_county", households=10, county_code="1307", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("generate_county", households=10, year=timezone.localdate().year + 1, stdout=StringIO())
    assert not Household.objects.exists()


def test_without_a_source_of_monitoring_lines_every_year_is_8800(monkeypatch):
    from households.demo import lines

    monkeypatch.setattr(lines, "LINE_SOURCES", [])
    assert demo.thresholds_for((2024, 2025)) == {2024: demo.DEFAULT_THRESHOLD, 2025: demo.DEFAULT_THRESHOLD}


def test_the_monitoring_lines_come_from_the_reference_data(db):
    threshold = IncomeThreshold.objects.get(area__isnull=True, year=YEAR).amount
    assert demo.thresholds_for((YEAR,)) == {YEAR: threshold}
