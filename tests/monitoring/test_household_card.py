"""The printable household card (/households/<id>/card/): what it shows, masked as the role
requires, scoped like the household page, and never a 500 on a household with little data."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.models import Role
from households import services
from households.models import HouseholdType
from monitoring.models import AssistanceMeasure, IncomeThreshold, MeasureStatus, Visit
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf


@pytest.fixture(autouse=True)
def site_language_afterwards():
    """A request in English leaves English active in this thread: restore the site's language."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def home(areas):
    hh = hf.household(
        areas["v11"], members=2, household_type=HouseholdType.OUT_OF_POVERTY, phone="13912345678"
    )
    case = mf.case(hh, risks=("01",))
    m = mf.measure("M0101")
    AssistanceMeasure.objects.create(
        case=case,
        measure=m,
        department=m.department,
        status=MeasureStatus.IMPLEMENTED,
        actual_date=dt.date(2026, 3, 1),
    )
    Visit.objects.create(
        household=hh, area_code=hh.area_code, visited_on=dt.date(2026, 4, 2), notes="家中情况稳定"
    )
    return hh


def test_the_card_shows_what_the_issue_lists(home, cadre):
    response = client_for(cadre).get(f"/households/{home.pk}/card/")
    assert response.status_code == 200
    page = text(response)
    m = mf.measure("M0101")
    head = home.members.order_by("id").first()
    for expected in (
        "防止返贫监测帮扶一户一卡",
        head.name,
        head.id_number,  # a village cadre sees full ID numbers on a single record
        "13912345678",
        "因病",  # the open case's risk
        m.name,
        m.department.name,
        "已落实",
        "家中情况稳定",
        "吃穿不愁",
        "尚未录入收支情况。",
    ):
        assert expected in page, expected
    assert "@page { size: A4" in response.content.decode()
    assert 'id="household-card-link"' in client_for(cadre).get(f"/households/{home.pk}/").content.decode()


def test_a_helper_sees_masked_numbers(home, areas):
    helper_user = af.user(Role.HELPER, username="helper_card")
    hf.helper(areas["county"], helper_user)
    hf.assign(helper_user, home, dt.date(2026, 1, 1))
    response = client_for(helper_user).get(f"/households/{home.pk}/card/")
    assert response.status_code == 200
    page = text(response)
    head = home.members.order_by("id").first()
    assert head.id_number not in page and head.id_number_masked in page
    assert "13912345678" not in page


def test_income_against_the_line(home, areas, cadre):
    IncomeThreshold.objects.create(area=areas["county"], year=2025, amount=Decimal("7000"))
    services.income_record_set(actor=None, household=home, year=2025, wages=Decimal("9000"))
    page = text(client_for(cadre).get(f"/households/{home.pk}/card/"))
    # 9,000 yuan for 2 people: 4,500 a head, below the 7,000 line
    assert "4500.00" in page and "7000.00" in page and "低于监测线" in page


def test_scoped_like_the_household_page(home, areas):
    other = af.user(Role.VILLAGE_CADRE, areas["v21"])
    assert client_for(other).get(f"/households/{home.pk}/").status_code == 404
    assert client_for(other).get(f"/households/{home.pk}/card/").status_code == 404


def test_a_bare_household_prints_without_error(areas, cadre):
    bare = hf.household(areas["v11"], members=0)
    response = client_for(cadre).get(f"/households/{bare.pk}/card/")
    assert response.status_code == 200
    page = text(response)
    assert "尚未登记家庭成员。" in page and "暂无帮扶措施。" in page and "暂无走访记录。" in page


def test_chinese_by_default_english_on_request(home, cadre):
    c = client_for(cadre)
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = c.get(f"/households/{home.pk}/card/")
    html = response.content.decode()
    assert "防止返贫监测帮扶一户一卡" in html and 'translate="no"' in html
    assert "Back to the household" in html  # the page around the card is the reader's
    english = c.get(f"/households/{home.pk}/card/", {"lang": "en"}).content.decode()
    assert "Household card" in english and "防止返贫监测帮扶一户一卡" not in english
    assert c.get(f"/households/{home.pk}/card/", {"lang": "xx"}).status_code == 200
