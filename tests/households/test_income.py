"""Per-capita net income: the pure formula, and the figures the service stores."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Role
from households import income, services
from households.models import IncomeRecord
from tests.accounts import factories as af
from tests.households import factories as hf

D = Decimal


# --- the pure formula -----------------------------------------------------------------------


def test_net_income_formula():
    net = income.net_income(
        wages=30000, business=5000, property_income=1200, transfer=800, business_expenditure=2000
    )
    assert net == D("35000.00")


def test_net_income_accepts_strings_floats_none_and_decimals():
    net = income.net_income(wages="100.10", business=0.2, property_income=None, transfer=D("1.005"))
    assert net == D("101.31")  # 101.305 rounds half up to the cent


def test_net_income_can_be_negative():
    assert income.net_income(business=1000, business_expenditure=2500) == D("-1500.00")


def test_deduct_medical_is_off_by_default():
    kwargs = {"wages": 10000, "insurance_payout": 3000, "compliant_medical_spending": 8000}
    assert income.net_income(**kwargs) == D("10000.00")
    assert income.net_income(**kwargs, deduct_medical=True) == D("5000.00")


def test_deduct_medical_can_make_net_negative():
    net = income.net_income(wages=2000, compliant_medical_spending=5000, deduct_medical=True)
    assert net == D("-3000.00")


def test_per_capita_none_without_members():
    assert income.per_capita(D("1000"), 0) is None
    assert income.per_capita(D("1000"), -1) is None


@pytest.mark.parametrize(
    ("net", "members", "expected"),
    [
        ("100", 3, "33.33"),
        ("200", 3, "66.67"),
        ("1", 8, "0.13"),  # 0.125 → half up
        ("-1", 8, "-0.13"),  # half away from zero
        ("-1500", 2, "-750.00"),
        ("0", 4, "0.00"),
        ("9999999999.99", 1, "9999999999.99"),
    ],
)
def test_per_capita_rounds_to_cents_half_up(net, members, expected):
    value = income.per_capita(D(net), members)
    assert value == D(expected)
    assert value.as_tuple().exponent == -2


def test_warnings():
    with translation.override("zh-hans"):
        assert income.warnings_for(wages=0, per_capita_value=D("5000")) == []
        assert income.warnings_for(wages=0, per_capita_value=None) == []
        assert income.warnings_for(wages=0, per_capita_value=D("-1")) == [
            "人均纯收入为负数，请核实生产经营性支出。"
        ]
        assert income.warnings_for(wages=50, per_capita_value=D("5000")) == [
            "工资性收入在1–99元之间，请核实。"
        ]
        assert income.warnings_for(wages=100, per_capita_value=D("5000")) == []
        assert income.warnings_for(wages=0, per_capita_value=D("20001")) == []
        assert income.warnings_for(wages=0, per_capita_value=D("20001"), at_entry=True) == [
            "纳入时人均纯收入超过20000元，请核实。"
        ]


# --- the service ---------------------------------------------------------------------------


def _errors(exc_info) -> dict[str, list[str]]:
    return exc_info.value.message_dict


def test_service_computes_and_stores(areas, cadre):
    hh = hf.household(areas["v11"], members=4, actor=cadre)
    rec = services.income_record_set(
        actor=cadre,
        household=hh,
        year=2024,
        wages="24000.50",
        business=6000,
        property_income=300,
        transfer=1200,
        business_expenditure=1500,
    )
    rec.refresh_from_db()
    assert rec.members == 4
    assert rec.net_income == D("30000.50")
    assert rec.per_capita_net_income == D("7500.13")  # 7500.125 → half up
    assert rec.recorded_on == timezone.localdate()


def test_service_headline_figure_does_not_deduct_medical(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    rec = services.income_record_set(
        actor=cadre,
        household=hh,
        year=2024,
        wages=10000,
        insurance_payout=2000,
        compliant_medical_spending=6000,
    )
    assert rec.net_income == D("10000.00")
    assert rec.per_capita_net_income == D("5000.00")
    assert rec.insurance_payout == D("2000")
    assert rec.compliant_medical_spending == D("6000")


def test_service_no_members_gives_no_per_capita(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=5000)
    rec.refresh_from_db()
    assert rec.members == 0
    assert rec.net_income == D("5000.00")
    assert rec.per_capita_net_income is None


def test_service_non_resident_members_are_not_counted(areas, cadre):
    hh = hf.household(areas["v11"], members=3, actor=cadre)
    away = hh.members.exclude(pk=hh.head_id).first()
    services.person_update(actor=cadre, person=away, is_resident=False)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=9000)
    assert rec.members == 2
    assert rec.per_capita_net_income == D("4500.00")


def test_service_negative_net_is_stored(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    rec = services.income_record_set(
        actor=cadre, household=hh, year=2024, business=3000, business_expenditure=8000
    )
    rec.refresh_from_db()
    assert rec.net_income == D("-5000.00")
    assert rec.per_capita_net_income == D("-2500.00")
    with translation.override("zh-hans"):
        assert "人均纯收入为负数，请核实生产经营性支出。" in income.warnings_for(
            wages=rec.wages, per_capita_value=rec.per_capita_net_income
        )


def test_service_rounds_to_cents(areas, cadre):
    hh = hf.household(areas["v11"], members=3, actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=10000)
    rec.refresh_from_db()
    assert rec.per_capita_net_income == D("3333.33")


def test_service_replaces_the_same_year(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    first = services.income_record_set(actor=cadre, household=hh, year=2024, wages=1000, transfer=500)
    second = services.income_record_set(actor=cadre, household=hh, year=2024, wages=3000)
    assert first.pk == second.pk
    assert IncomeRecord.objects.filter(household=hh).count() == 1
    second.refresh_from_db()
    assert second.transfer == 0  # an amount left out is zero, not the old figure
    assert second.per_capita_net_income == D("1500.00")


@pytest.mark.parametrize("field", ["per_capita_net_income", "net_income", "members"])
def test_computed_figures_cannot_be_typed_in(areas, cadre, field):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.income_record_set(actor=cadre, household=hh, year=2024, wages=1000, **{field: 99999})
    assert _errors(exc) == {field: ["不能修改此项。"]}
    assert not IncomeRecord.objects.filter(household=hh).exists()


@pytest.mark.parametrize(
    "field",
    [
        "wages",
        "business",
        "property_income",
        "transfer",
        "business_expenditure",
        "insurance_payout",
        "compliant_medical_spending",
    ],
)
def test_negative_amounts_are_refused_naming_the_field(areas, cadre, field):
    hh = hf.household(areas["v11"], actor=cadre)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.income_record_set(actor=cadre, household=hh, year=2024, **{field: "-0.01"})
    assert _errors(exc) == {field: ["金额不能为负数。"]}


def test_every_bad_amount_is_reported_at_once(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.income_record_set(actor=cadre, household=hh, year=2024, wages=-1, transfer="abc")
    assert _errors(exc) == {"wages": ["金额不能为负数。"], "transfer": ["请填写数字金额。"]}


@pytest.mark.parametrize("raw", ["abc", "1,000", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "1e"])
def test_non_numbers_are_refused(areas, cadre, raw):
    hh = hf.household(areas["v11"], actor=cadre)
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.income_record_set(actor=cadre, household=hh, year=2024, wages=raw)
    assert _errors(exc) == {"wages": ["请填写数字金额。"]}


def test_empty_and_none_amounts_count_as_zero(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages="", transfer=None)
    assert rec.net_income == 0


def test_more_than_two_decimals_is_refused(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    with pytest.raises(ValidationError) as exc:
        services.income_record_set(actor=cadre, household=hh, year=2024, wages="100.001")
    assert set(_errors(exc)) == {"wages"}


@pytest.mark.parametrize("year", [1999, "abc", None, "next year", "after next"])
def test_bad_year_is_refused_with_the_reason(areas, cadre, year):
    hh = hf.household(areas["v11"], actor=cadre)
    last = timezone.localdate().year + 1
    if year == "after next":
        year = last + 1
    elif year == "next year":
        year = "明年"
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.income_record_set(actor=cadre, household=hh, year=year, wages=-1)
    errors = _errors(exc)
    # the year's reason says what is expected, and the amount's error comes in the same round
    assert set(errors) == {"year", "wages"}
    if isinstance(year, int):
        assert errors["year"] == [f"年度须在2000年至{last}年之间，您填写的是{year}。"]
    else:
        assert errors["year"] == [f"请填写年度（4位数字，如 {last - 2}）。"]


def test_year_after_next_is_refused_next_year_allowed(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    this_year = timezone.localdate().year
    services.income_record_set(actor=cadre, household=hh, year=this_year + 1, wages=1)
    with pytest.raises(ValidationError):
        services.income_record_set(actor=cadre, household=hh, year=this_year + 2, wages=1)


def test_income_outside_the_area_is_refused(areas, cadre):
    other = hf.household(areas["v21"])
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        services.income_record_set(actor=cadre, household=other, year=2024, wages=1)
    assert _errors(exc) == {"household": ["该村不在您的工作区域内。"]}


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.HELPER])
def test_roles_outside_the_registry_cannot_record_income(areas, role):
    hh = hf.household(areas["v11"])
    actor = af.user(role, areas["county"])
    with translation.override("zh-hans"), pytest.raises(NotAllowed) as exc:
        services.income_record_set(actor=actor, household=hh, year=2024, wages=1)
    assert str(exc.value) == "您的角色不能修改农户信息。"
    assert not IncomeRecord.objects.exists()


def test_recorded_on_and_note_are_kept(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)
    rec = services.income_record_set(
        actor=cadre, household=hh, year=2024, wages=1, recorded_on=dt.date(2024, 12, 20), note="入户核实"
    )
    rec.refresh_from_db()
    assert rec.recorded_on == dt.date(2024, 12, 20)
    assert rec.note == "入户核实"


# --- recomputation when the household changes ------------------------------------------------


def test_adding_a_member_recomputes_the_latest_record_only(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    old = services.income_record_set(actor=cadre, household=hh, year=2023, wages=6000)
    latest = services.income_record_set(actor=cadre, household=hh, year=2024, wages=9000)
    assert latest.per_capita_net_income == D("4500.00")

    services.person_add(actor=cadre, household=hh, id_number=hf.id_number(), name="新生儿", relation="child")

    latest.refresh_from_db()
    old.refresh_from_db()
    assert latest.members == 3
    assert latest.per_capita_net_income == D("3000.00")
    assert latest.history.first().history_change_reason == "家庭人口变化，重新计算人均纯收入"
    assert old.members == 2  # an earlier year keeps the household as it was then
    assert old.per_capita_net_income == D("3000.00")


def test_first_member_gives_a_per_capita(areas, cadre):
    hh = hf.household(areas["v11"], members=0, actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=7000)
    assert rec.per_capita_net_income is None
    services.person_add(actor=cadre, household=hh, id_number=hf.id_number(), name="户主", relation="head")
    rec.refresh_from_db()
    assert rec.members == 1
    assert rec.per_capita_net_income == D("7000.00")


def test_moving_a_member_recomputes_both_households(areas, township_reviewer):
    actor = township_reviewer
    a = hf.household(areas["v11"], members=2, actor=actor)
    b = hf.household(areas["v12"], members=1, actor=actor)
    rec_a = services.income_record_set(actor=actor, household=a, year=2024, wages=10000)
    rec_b = services.income_record_set(actor=actor, household=b, year=2024, wages=10000)
    mover = a.members.exclude(pk=a.head_id).get()

    services.person_move(actor=actor, person=mover, to_household=b, relation="spouse", reason="结婚迁入")

    rec_a.refresh_from_db()
    rec_b.refresh_from_db()
    assert (rec_a.members, rec_a.per_capita_net_income) == (1, D("10000.00"))
    assert (rec_b.members, rec_b.per_capita_net_income) == (2, D("5000.00"))


def test_last_member_moving_out_leaves_no_per_capita(areas, cadre):
    a = hf.household(areas["v11"], members=1, actor=cadre)
    b = hf.household(areas["v11"], members=1, actor=cadre)
    rec_a = services.income_record_set(actor=cadre, household=a, year=2024, wages=10000)
    services.person_move(
        actor=cadre, person=a.members.get(), to_household=b, relation="parent", reason="投靠子女"
    )
    rec_a.refresh_from_db()
    assert rec_a.members == 0
    assert rec_a.per_capita_net_income is None


def test_member_no_longer_resident_recomputes(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=8000)
    child = hh.members.exclude(pk=hh.head_id).get()
    services.person_update(actor=cadre, person=child, is_resident=False, reason="外出落户")
    rec.refresh_from_db()
    assert (rec.members, rec.per_capita_net_income) == (1, D("8000.00"))
    services.person_update(actor=cadre, person=child, is_resident=True)
    rec.refresh_from_db()
    assert (rec.members, rec.per_capita_net_income) == (2, D("4000.00"))


def test_unrelated_edit_writes_no_income_history(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=8000)
    before = rec.history.count()
    services.person_update(actor=cadre, person=hh.head, ethnicity="回族")
    assert rec.history.count() == before


def test_correcting_an_earlier_year_keeps_that_years_members(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    services.income_record_set(actor=cadre, household=hh, year=2023, wages=6000)
    services.income_record_set(actor=cadre, household=hh, year=2024, wages=6000)
    services.person_add(actor=cadre, household=hh, id_number=hf.id_number(), name="新生儿", relation="child")

    corrected = services.income_record_set(actor=cadre, household=hh, year=2023, wages=8000)
    assert (corrected.members, corrected.per_capita_net_income) == (2, D("4000.00"))
    latest = services.income_record_set(actor=cadre, household=hh, year=2024, wages=9000)
    assert (latest.members, latest.per_capita_net_income) == (3, D("3000.00"))


def test_creating_a_record_writes_one_history_row_with_actor_and_reason(areas, cadre):
    hh = hf.household(areas["v11"], members=2, actor=cadre)
    rec = services.income_record_set(actor=cadre, household=hh, year=2024, wages=6000)
    rows = list(rec.history.all())
    assert len(rows) == 1
    assert (rows[0].history_type, rows[0].history_user, rows[0].history_change_reason) == (
        "+",
        cadre,
        "录入收支情况",
    )
    assert rows[0].per_capita_net_income == D("3000.00")
