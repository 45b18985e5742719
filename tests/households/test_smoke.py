from households import services
from tests.households import factories as hf


def test_household_with_members_and_income(areas, cadre):
    hh = hf.household(areas["v11"], members=3, actor=cadre)
    rec = services.income_record_set(
        actor=cadre, household=hh, year=2025, wages=30000, business=5000, business_expenditure=2000
    )
    assert rec.members == 3
    assert str(rec.per_capita_net_income) == "11000.00"
