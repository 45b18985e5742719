"""The pairing pages: loads and visits, preview then confirm, a helper's leaving, the to-do."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from households.models import HelperAssignment, Household
from monitoring.models import Visit
from monitoring.rules.deadlines import local_date
from monitoring.services import pairing
from tests.households import factories as hf

pytestmark = pytest.mark.django_db


def today():
    return local_date(timezone.now())


@pytest.fixture
def setup(areas):
    households = []
    for village in ("v11", "v11", "v11", "v12"):
        hh = hf.household(areas[village], members=1)
        Household.objects.filter(pk=hh.pk).update(monitoring_status="monitored")
        households.append(hh)
    h11 = hf.helper(areas["county"], None, name="一村帮扶人")
    h11.village = areas["v11"]
    h11.save()
    h12 = hf.helper(areas["county"], None, name="二村帮扶人")
    h12.village = areas["v12"]
    h12.save()
    return {"households": households, "h11": h11, "h12": h12}


def pair(client, areas, *, confirm: bool, limit="2", token="p-1"):
    data = {"area": areas["t1"].pk, "limit": limit, "start_date": today().isoformat(), "token": token}
    data["confirm" if confirm else "preview"] = "1"
    return client.post("/helpers/", data)


def test_the_todo_then_preview_then_confirm(client, areas, township_reviewer, setup):
    client.force_login(township_reviewer)
    home = client.get("/").content.decode()
    assert 'id="todo-unassigned"' in home
    page = client.get("/helpers/")
    assert page.context["unassigned"] == 4
    preview = pair(client, areas, confirm=False)
    assert preview.status_code == 200 and len(preview.context["result"].pairs) == 4
    assert 'id="pairing-preview"' in preview.content.decode()
    assert HelperAssignment.objects.count() == 0  # a preview writes nothing
    done = pair(client, areas, confirm=True)
    assert done.status_code == 302
    assert HelperAssignment.objects.count() == 4
    pair(client, areas, confirm=True)  # the same token again: nothing more
    assert HelperAssignment.objects.count() == 4
    page = client.get("/helpers/")
    assert "已结对4户" in page.content.decode()
    loads = {h.name: h.load for h in page.context["page"].object_list}
    assert loads == {"一村帮扶人": 2, "二村帮扶人": 2}
    assert 'id="todo-unassigned"' not in client.get("/").content.decode()
    assert client.get("/helpers/unassigned/").context["page"].paginator.count == 0


def test_a_helper_leaves_on_the_page(client, areas, township_reviewer, setup):
    client.force_login(township_reviewer)
    pair(client, areas, confirm=True, limit="3")
    h11 = setup["h11"]
    theirs = list(HelperAssignment.objects.filter(helper=h11).values_list("household_id", flat=True))
    Visit.objects.create(household_id=theirs[0], area_code=areas["v11"].code, helper=h11, visited_on=today())
    page = client.get(f"/helpers/{h11.pk}/")
    assert page.status_code == 200 and len(page.context["current"]) == 3
    assert page.context["visits"].paginator.count == 1
    response = client.post(
        f"/helpers/{h11.pk}/",
        {"left_on": today().isoformat(), "reason": "调回原单位", "limit": "3", "token": "l-1"},
    )
    assert response.status_code == 302, response.context["form"].errors
    page = client.get(f"/helpers/{h11.pk}/")
    html = page.content.decode()
    assert "已登记离岗" in html
    assert page.context["current"] == [] and len(page.context["past"]) == 3
    assert page.context["visits"].paginator.count == 1  # the visit record stays with the helper
    assert not page.context["can_leave"]
    # the v12 helper had one household, takes two more up to the limit of 3; one is left to do
    assert HelperAssignment.objects.filter(helper=setup["h12"]).count() == 3
    tomorrow = today() + dt.timedelta(days=1)
    assert pairing.unassigned_monitored(Household.objects.all(), on=tomorrow).count() == 1


def test_who_may_pair_and_leave(client, areas, cadre, county_approver, helper_user, setup):
    client.force_login(cadre)
    assert client.get("/helpers/").status_code == 200
    assert client.post(f"/helpers/{setup['h11'].pk}/", {"reason": "x"}).status_code == 403
    # a cadre pairs their own village only: the township is not among their choices
    response = pair(client, areas, confirm=True)
    assert "area" in response.context["form"].errors
    client.force_login(helper_user)
    assert client.get("/helpers/").status_code == 403
    assert client.get(f"/helpers/{setup['h11'].pk}/").status_code in (403, 404)
    client.force_login(county_approver)
    assert client.get(f"/helpers/{setup['h11'].pk}/").status_code == 200
    assert client.get("/helpers/unassigned/").context["page"].paginator.count == 4


def test_a_helper_of_another_county_is_a_404(client, areas, county_approver):
    from tests.accounts import factories as af

    other = af.area("130728000000", "邻县", "county", areas["city"])
    stranger = hf.helper(other, None, name="邻县帮扶人")
    client.force_login(county_approver)
    assert client.get(f"/helpers/{stranger.pk}/").status_code == 404
