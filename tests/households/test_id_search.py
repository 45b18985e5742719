"""ID numbers never travel in a URL: searches by ID number go in a POST body (pages and API),
a query string that carries one is refused (API) or redirected to an opaque key (pages), and
logs and the API call log never hold one in full."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.logging import MaskIdNumbers, mask_id_numbers
from accounts.models import ApiCallLog
from households import idnumber
from households.search_terms import KEY_PARAM
from tests.households import factories as hf
from tests.monitoring import factories as mf

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def rows(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def assert_refused(response, field: str, search_path: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert list(body["fields"]) == [field]
    assert search_path in str(body["fields"][field])


# --- the API -------------------------------------------------------------------------------------


def test_a_list_refuses_an_id_number_in_its_query_string(county_approver, household):
    client = api(county_approver)
    number = household.head.id_number
    assert_refused(
        client.get("/api/v1/households/", {"search": number}), "search", "/api/v1/households/search/"
    )
    assert_refused(client.get("/api/v1/people/", {"search": number}), "search", "/api/v1/people/search/")
    assert_refused(client.get("/api/v1/cases/", {"search": number}), "search", "/api/v1/cases/search/")
    # ``id_number`` is an ID number whatever it holds (a part of one too)
    assert_refused(client.get("/api/v1/people/", {"id_number": number[:10]}), "id_number", "/people/search/")
    # names and household numbers stay GET searches
    assert rows(client.get("/api/v1/households/", {"search": household.number})) == {household.pk}
    assert rows(client.get("/api/v1/households/", {"search": household.head.name})) == {household.pk}


def test_search_by_id_number_in_the_body(county_approver, household, other_household):
    client = api(county_approver)
    head = household.head
    found = client.post("/api/v1/households/search/", {"search": head.id_number}, format="json")
    assert rows(found) == {household.pk}
    # the answer is the list's: masked
    assert found.json()["results"][0]["phone"] == idnumber.mask_phone(household.phone)
    people = client.post("/api/v1/people/search/", {"id_number": head.id_number}, format="json")
    assert rows(people) == {head.pk}
    assert people.json()["results"][0]["id_number"] == idnumber.mask(head.id_number)
    spaced = f"{head.id_number[:6]} {head.id_number[6:]}"
    assert rows(client.post("/api/v1/people/search/", {"search": spaced}, format="json")) == {head.pk}


def test_the_other_filters_stay_in_the_query_string(county_approver, areas, household):
    client = api(county_approver)
    number = household.head.id_number
    inside = client.post(
        f"/api/v1/households/search/?area={areas['v11'].prefix}", {"search": number}, format="json"
    )
    assert rows(inside) == {household.pk}
    elsewhere = client.post(
        f"/api/v1/households/search/?area={areas['v21'].prefix}", {"search": number}, format="json"
    )
    assert rows(elsewhere) == set()
    # an ID number in the query string of the search itself is refused as well
    assert_refused(
        client.post(f"/api/v1/households/search/?search={number}", {}, format="json"),
        "search",
        "/api/v1/households/search/",
    )


def test_search_is_scoped_and_checked(cadre, areas):
    outside = hf.household(areas["v21"], members=1)
    client = api(cadre)
    found = client.post("/api/v1/households/search/", {"search": outside.head.id_number}, format="json")
    assert rows(found) == set()
    too_long = client.post("/api/v1/households/search/", {"search": "1" * 51}, format="json")
    assert too_long.status_code == 400 and list(too_long.json()["fields"]) == ["search"]
    not_an_object = client.post("/api/v1/households/search/", ["x"], format="json")
    assert not_an_object.status_code == 400
    assert APIClient().post("/api/v1/households/search/", {"search": "x"}, format="json").status_code in (
        401,
        403,
    )


def test_search_pages_by_posting_the_same_body_to_next(county_approver, areas):
    home = hf.household(areas["v11"], members=3)
    client = api(county_approver)
    body = {"search": home.number}
    first = client.post("/api/v1/people/search/?page_size=2", body, format="json").json()
    assert len(first["results"]) == 2 and first["next"]
    assert "search" not in first["next"].split("?", 1)[1]
    second = client.post(first["next"], body, format="json").json()
    assert {r["id"] for r in first["results"] + second["results"]} == set(
        home.members.values_list("id", flat=True)
    )


def test_the_api_call_log_keeps_the_path_without_the_query(county_approver, household):
    api(county_approver).get("/api/v1/people/", {"id_number": household.head.id_number})
    logged = ApiCallLog.objects.latest("id")
    assert (logged.path, logged.status) == ("/api/v1/people/", 400)


# --- the pages -------------------------------------------------------------------------------------


def test_the_household_search_posts_and_keeps_the_number_out_of_the_address(cadre_client, household):
    number = household.head.id_number
    posted = cadre_client.post("/households/", {"search": number, "household_type": ""})
    assert posted.status_code == 303
    url = posted["Location"]
    assert number not in url and number[6:14] not in url and f"{KEY_PARAM}=" in url
    page = cadre_client.get(url)
    assert [h.pk for h in page.context["households"]] == [household.pk]
    html = page.content.decode()
    # the box shows what was typed; no link on the page carries the number
    assert f'value="{number}"' in html
    assert f"search={number}" not in html and f"q={number}" not in html
    # the same number asked again reuses its key
    assert cadre_client.post("/households/", {"search": number})["Location"] == url


def test_an_id_number_typed_into_the_address_is_redirected_away(cadre_client, household):
    number = household.head.id_number
    typed = cadre_client.get("/households/", {"search": number, "page": "1"})
    assert typed.status_code == 303
    assert number not in typed["Location"] and "page=" not in typed["Location"]
    assert [h.pk for h in cadre_client.get(typed["Location"]).context["households"]] == [household.pk]


def test_a_key_is_only_good_in_its_own_session(cadre, household):
    mine, theirs = Client(), Client()
    mine.force_login(cadre)
    theirs.force_login(cadre)
    url = mine.post("/households/", {"search": household.head.id_number})["Location"]
    page = theirs.get(url)
    assert page.status_code == 200
    assert "这次查找已过期" in page.content.decode()
    # the search did not run: the whole list, not the one household's search result
    assert page.context["filterset"].form.data.get("search") is None


def test_names_and_numbers_stay_in_the_address(cadre_client, household):
    posted = cadre_client.post("/households/", {"search": household.number})
    assert posted["Location"] == f"/households/?search={household.number}"


def test_the_case_list_search_posts_too(client, county_approver, household):
    case = mf.case(household)
    client.force_login(county_approver)
    posted = client.post("/cases/", {"queue": "all", "search": household.head.id_number})
    assert posted.status_code == 303 and household.head.id_number not in posted["Location"]
    assert "queue=all" in posted["Location"]
    page = client.get(posted["Location"])
    assert [c.pk for c in page.context["page"].object_list] == [case.pk]
    assert client.get("/cases/", {"search": household.head.id_number}).status_code == 303


def test_the_clue_match_box_posts(client, county_approver, household):
    from tests.monitoring.test_case_pages import alert

    clue = alert(county_approver, n=31)
    client.force_login(county_approver)
    typed = client.get(f"/clues/{clue.pk}/", {"q": household.head.id_number})
    assert typed.status_code == 303 and household.head.id_number not in typed["Location"]
    page = client.get(typed["Location"])
    assert [h.pk for h in page.context["candidates"]] == [household.pk]


# --- logs ------------------------------------------------------------------------------------------


def test_mask_id_numbers():
    assert mask_id_numbers("GET /x/?search=130727199001010012 200") == "GET /x/?search=130727********0012 200"
    assert mask_id_numbers("13072719900101001x,13072719900101001X") == "130727********001x,130727********001X"
    # not inside a longer run of digits or letters, and shorter runs left as they are
    assert mask_id_numbers("1130727199001010012 H130727199001010012 1307271990") == (
        "1130727199001010012 H130727199001010012 1307271990"
    )


def test_every_configured_handler_masks_id_numbers():
    logging.config.dictConfig(settings.LOGGING)
    try:
        handlers = [*logging.getLogger().handlers, *logging.getLogger("django.server").handlers]
        assert handlers
        for handler in handlers:
            assert any(isinstance(f, MaskIdNumbers) for f in handler.filters), handler
            stream = io.StringIO()
            handler.setStream(stream)
            record = logging.LogRecord(
                "x", logging.WARNING, __file__, 1, "%s 请求 %s", ("GET", "/?q=130727199001010012"), None
            )
            handler.handle(record)
            assert "130727********0012" in stream.getvalue()
            assert "130727199001010012" not in stream.getvalue()
    finally:
        logging.config.dictConfig(settings.LOGGING)


def test_a_traceback_is_masked_too():
    try:
        raise ValueError("bad 130727199001010012")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    MaskIdNumbers().filter(record)
    assert "130727199001010012" not in record.exc_text and "130727********0012" in record.exc_text
