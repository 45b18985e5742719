"""The lists filter by township and village picked by name (limited to the user's areas), and
every list's pager offers page numbers and a jump to any page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory

from households.filters import township_choices, village_choices
from monitoring.models import CaseStatus, Channel, Clue, ClueStatus
from tests.households import factories as hf
from tests.monitoring import factories as mf


def _select_options(content: str, select_id: str) -> str:
    start = content.index(f'id="{select_id}"')
    return content[start : content.index("</select>", start)]


@pytest.fixture
def spread(areas):
    """One household in each of the four villages (two townships)."""
    return {key: hf.household(areas[key], members=1) for key in ("v11", "v12", "v21", "v22")}


def test_choices_are_the_users_own_areas(areas, cadre, township_reviewer, county_approver):
    assert list(township_choices(county_approver)) == [areas["t1"], areas["t2"]]
    assert list(township_choices(township_reviewer)) == [areas["t1"]]
    assert list(township_choices(cadre)) == [areas["t1"]]
    assert list(village_choices(county_approver, areas["t2"].pk)) == [areas["v21"], areas["v22"]]
    assert list(village_choices(township_reviewer)) == [areas["v11"], areas["v12"]]
    assert list(village_choices(township_reviewer, areas["t2"].pk)) == []


def test_household_list_filters_by_township_and_village_by_name(client, areas, county_approver, spread):
    client.force_login(county_approver)
    content = client.get("/households/").content.decode()
    townships = _select_options(content, "id_township")
    assert "西城镇" in townships and "东城镇" in townships
    assert 'hx-select="#id_village"' in content  # picking a township reloads the village list
    response = client.get("/households/", {"township": areas["t2"].pk})
    assert {h.pk for h in response.context["households"]} == {spread["v21"].pk, spread["v22"].pk}
    villages = _select_options(response.content.decode(), "id_village")
    assert "三村" in villages and "四村" in villages and "一村" not in villages
    response = client.get("/households/", {"township": areas["t2"].pk, "village": areas["v22"].pk})
    assert [h.pk for h in response.context["households"]] == [spread["v22"].pk]


def test_a_township_outside_the_users_areas_is_refused_not_widened(client, areas, township_reviewer, spread):
    client.force_login(township_reviewer)
    response = client.get("/households/", {"township": areas["t2"].pk})
    assert response.status_code == 200
    assert not response.context["filterset"].qs.exists()  # none of mine: no rows, never all rows
    assert spread["v21"].number not in response.content.decode()
    api = client.get("/api/v1/households/", {"township": areas["t2"].pk})
    assert api.status_code == 200 and api.json()["results"] == []
    assert client.get("/api/v1/households/", {"township": "abc"}).status_code == 400


def test_case_list_filters_by_township_and_village_and_hides_the_code_box(
    client, areas, county_approver, spread
):
    made = {key: mf.case(hh, status=CaseStatus.MONITORED) for key, hh in spread.items()}
    client.force_login(county_approver)
    response = client.get("/cases/", {"queue": "all", "township": areas["t1"].pk})
    assert response.status_code == 200
    assert {c.pk for c in response.context["page"].object_list} == {made["v11"].pk, made["v12"].pk}
    content = response.content.decode()
    assert 'name="area"' not in content  # no typing of area codes
    assert "一村" in _select_options(content, "id_village") and "三村" not in _select_options(
        content, "id_village"
    )
    response = client.get("/cases/", {"queue": "all", "village": areas["v12"].pk})
    assert [c.pk for c in response.context["page"].object_list] == [made["v12"].pk]


def test_clue_list_filters_by_township(client, areas, county_approver, spread):
    for i, (_key, hh) in enumerate(spread.items()):
        Clue.objects.create(
            channel=Channel.CADRE_SCREENING,
            found_date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            household=hh,
            area_code=hh.area_code,
            status=ClueStatus.PENDING,
        )
    client.force_login(county_approver)
    response = client.get("/clues/", {"township": areas["t2"].pk})
    assert response.status_code == 200
    assert {c.household_id for c in response.context["page"].object_list} == {
        spread["v21"].pk,
        spread["v22"].pk,
    }
    assert "东城镇" in _select_options(response.content.decode(), "id_township")


def test_the_api_keeps_its_area_code_parameter(client, areas, county_approver, spread):
    client.force_login(county_approver)
    response = client.get("/api/v1/households/", {"area": "130727200"})
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert {r["id"] for r in rows} == {spread["v21"].pk, spread["v22"].pk}


# --- the pager -------------------------------------------------------------------------------


def _pager(number: int, query: str = "") -> str:
    request = RequestFactory().get(f"/cases/?{query}")
    page = Paginator(range(500), 10).page(number)
    return render_to_string("monitoring/_pagination.html", {"page": page}, request=request)


def test_the_pager_shows_page_numbers_and_a_jump_to_any_page():
    html = _pager(25, "queue=all&status=monitored&page=25")
    for n in (1, 24, 26, 50):
        assert f"page={n}" in html and f">{n}<" in html
    assert 'aria-current="page"><span class="page-link">25<' in html
    assert "…" in html  # pages left out between
    assert "page=3&" not in html and 'page=3"' not in html
    # the jump keeps the filters and goes to any page
    assert 'name="page" min="1" max="50"' in html
    assert '<input type="hidden" name="queue" value="all">' in html
    assert '<input type="hidden" name="status" value="monitored">' in html
    assert 'type="hidden" name="page"' not in html
    # the links keep the filters too
    assert "queue=all&amp;status=monitored&amp;page=26" in html


def test_the_household_list_has_the_same_pager(client, areas, cadre):
    for _ in range(51):
        hf.household(areas["v11"], members=1)
    client.force_login(cadre)
    content = client.get("/households/", {"page": 2}).content.decode()
    assert 'id="page-jump-input"' in content
    assert 'href="?page=1"' in content
