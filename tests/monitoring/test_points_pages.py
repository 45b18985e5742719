"""The points pages: the village's points, a household's award and redemption forms, the
printable ledger; who may read and who may write."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Role
from monitoring.models import PointsAccount, PointsEntry
from monitoring.rules.deadlines import local_date
from tests.accounts import factories as af
from tests.households import factories as hf

pytestmark = pytest.mark.django_db


def today() -> str:
    return local_date(timezone.now()).isoformat()


def post_award(client, household, **extra):
    data = {
        "action": "award",
        "award-conduct": "C02",
        "award-awarded_on": today(),
        "award-reason": "外出务工满三个月",
        "award-panel": "张三、李四、王五",
        **extra,
    }
    return client.post(f"/households/{household.pk}/points/", data)


def post_redeem(client, household, **extra):
    data = {
        "action": "redeem",
        "redeem-item": "G04",
        "redeem-quantity": "1",
        "redeem-redeemed_on": today(),
        **extra,
    }
    return client.post(f"/households/{household.pk}/points/", data)


def test_a_cadre_awards_and_redeems_on_the_household_page(client, cadre, household):
    client.force_login(cadre)
    page = client.get(f"/households/{household.pk}/points/")
    assert page.status_code == 200
    assert 'id="points-award-form"' in page.content.decode()
    response = post_award(client, household)
    assert response.status_code == 302
    assert PointsAccount.objects.get(household=household).balance == 10
    response = post_redeem(client, household)
    assert response.status_code == 302
    assert PointsAccount.objects.get(household=household).balance == 2
    page = client.get(response.url)
    html = page.content.decode()
    assert "已兑换，扣减 8 分，当前余额 2 分。" in html
    assert "外出务工满三个月" in html and "张三、李四、王五" in html
    # the household page links to it with the balance
    detail = client.get(f"/households/{household.pk}/").content.decode()
    assert 'id="household-points-link"' in detail and "余额2分" in detail


def test_an_overdraft_on_the_page_shows_the_balance_and_writes_nothing(client, cadre, household):
    client.force_login(cadre)
    post_award(client, household)
    response = post_redeem(client, household, **{"redeem-item": "G02"})  # 30 > 10
    assert response.status_code == 200
    assert "积分不足：余额10分，需要30分。" in response.content.decode()
    assert PointsEntry.objects.filter(kind="redeem").count() == 0


def test_a_double_submit_records_one_award(client, cadre, household):
    client.force_login(cadre)
    post_award(client, household, **{"award-token": "t-1"})
    post_award(client, household, **{"award-token": "t-1"})
    assert PointsEntry.objects.filter(household=household).count() == 1


def test_readers_read_writers_write(
    client, areas, household, township_reviewer, county_approver, helper_user
):
    client.force_login(township_reviewer)
    page = client.get(f"/households/{household.pk}/points/")
    assert page.status_code == 200 and 'id="points-award-form"' not in page.content.decode()
    assert post_award(client, household).status_code == 403
    assert client.get(f"/points/?village={areas['v11'].pk}").status_code == 200
    client.force_login(helper_user)
    assert client.get("/points/").status_code == 403
    assert client.get(f"/households/{household.pk}/points/").status_code in (403, 404)
    assert PointsEntry.objects.count() == 0


def test_outside_the_area_is_a_404(client, areas, cadre, other_household):
    client.force_login(cadre)
    assert client.get(f"/households/{other_household.pk}/points/").status_code == 404
    assert client.get(f"/points/?village={areas['v12'].pk}").status_code == 404
    assert client.get(f"/points/print/?village={areas['v12'].pk}").status_code == 404
    assert client.get("/points/?village=abc").status_code == 404


def test_the_village_page_and_the_printable_ledger(client, areas, cadre, household):
    other = hf.household(areas["v11"], members=1)
    client.force_login(cadre)
    post_award(client, household)
    post_award(client, other, **{"award-conduct": "C01"})
    post_redeem(client, household, **{"redeem-item": "G05", "redeem-quantity": "2"})
    page = client.get("/points/")  # the cadre's only village
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="points-households"' in html and household.number in html and other.number in html
    assert page.context["totals"] == {"households": 2, "awarded": 15, "redeemed": 6, "balance": 9}
    printed = client.get(f"/points/print/?village={areas['v11'].pk}")
    assert printed.status_code == 200
    rows = printed.context["summary"]
    assert [(r["household__number"], r["awarded"], r["redeemed"], r["balance"]) for r in rows] == sorted(
        [(household.number, 10, 6, 4), (other.number, 5, 0, 5)]
    )
    assert len(printed.context["entries"]) == 3
    # a period without entries
    empty = client.get(f"/points/print/?village={areas['v11'].pk}&from=2020-01-01&to=2020-12-31")
    assert empty.context["entries"] == [] and "本期间没有积分记录。" in empty.content.decode()
    # a bad date is ignored, not a 500
    assert client.get(f"/points/print/?village={areas['v11'].pk}&from=2020-13-45").status_code == 200
    assert client.get("/points/print/").status_code == 200  # the cadre's only village


def test_a_county_user_picks_a_village(client, areas, county_approver):
    client.force_login(county_approver)
    page = client.get("/points/")
    assert page.status_code == 200
    assert 'id="points-village-pick"' in page.content.decode() and page.context["village"] is None
    assert client.get("/points/print/").status_code == 404  # a county user must pick a village
    assert client.get(f"/points/?village={areas['v21'].pk}").context["village"] == areas["v21"]


def test_a_cadre_of_two_villages_picks_one(client, areas):
    user = af.user(Role.VILLAGE_CADRE, areas["v11"], username="two_villages")
    user.areas.add(areas["v12"])
    client.force_login(user)
    page = client.get("/points/")
    assert page.context["village"] is None
    assert client.get(f"/points/?village={areas['v12'].pk}").context["village"] == areas["v12"]
