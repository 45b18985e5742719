"""The ledger lists: pages, the API's rows and counts, and what the filters select.

The county of ``tests/reports/test_ledgers.py`` (households of every kind in three villages,
clues in two villages and the county) is reused, so the rows each ledger must hold are known.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from households.models import Household, HouseholdType, MonitoringStatus
from monitoring.models import MonitoringCase, RiskType
from reports import lists
from reports.columns import HOUSEHOLD_COLUMNS, ListKind
from reports.forms import AreaIndex, LedgerQuery
from reports.selectors import Ledger
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.reports.test_ledgers import EXPECTED_COUNTY

HOUSEHOLD_LEDGERS = [Ledger.KEY_MONITORING, Ledger.STABLE_OUT_OF_POVERTY, Ledger.ORDINARY, Ledger.LOW_INCOME]


def rows_of(response) -> list[list]:
    """The values of the page's table (each cell is ``(value, stored data?)``)."""
    return [[value for value, _data in row] for row in response.context["rows"]]


def page(client, user, ledger, **query):
    client.force_login(user)
    return client.get(reverse("reports:ledger", args=[str(ledger)]), query)


def area_counts(client, user, ledger, **query):
    client.force_login(user)
    return client.get(reverse("reports:ledger_counts", args=[str(ledger)]), query)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def selection(user, kind, **data):
    query = LedgerQuery(data, kind=kind, areas=AreaIndex(user))
    assert query.is_valid(), query.errors
    return query.selection()


def numbers(user, ledger, **data) -> set[str]:
    rows = lists.list_rows(ledger, user=user, selection=selection(user, ledger, **data))
    return set(rows.values_list("number", flat=True))


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ledger", list(Ledger))
def test_each_ledger_page_lists_the_ledgers_rows_and_counts(client, county_approver, county, ledger):
    response = page(client, county_approver, ledger)
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == EXPECTED_COUNTY[ledger]
    assert len(rows_of(response)) == EXPECTED_COUNTY[ledger]
    assert reverse("reports:ledger_counts", args=[str(ledger)]) in response.content.decode()
    # the counts by township add up to the total, and each township's villages to the township
    counts = area_counts(client, county_approver, ledger)
    assert counts.context["total"] == EXPECTED_COUNTY[ledger]
    townships = counts.context["by_township"]
    assert sum(t["count"] for t in townships) == EXPECTED_COUNTY[ledger]
    assert all(t["count"] == sum(v["count"] for v in t["villages"]) for t in townships)
    if ledger != Ledger.EARLY_WARNING:
        shown = {row[0] for row in rows_of(response)}
        expected = set(
            lists.list_rows(ledger, user=county_approver, selection={}).values_list("number", flat=True)
        )
        assert shown == expected


def test_the_page_shows_names_masks_numbers_and_counts_by_village(client, county_approver, county):
    response = page(client, county_approver, Ledger.KEY_MONITORING)
    html = response.content.decode()
    head = county["monitored_out"].head
    assert head.id_number not in html
    assert head.id_number[:6] + "********" + head.id_number[-4:] in html
    assert "西城镇" in html and "一村" in html
    counts = area_counts(client, county_approver, Ledger.KEY_MONITORING)
    townships = {t["name"]: t for t in counts.context["by_township"]}
    assert townships["西城镇"]["count"] == 3 and townships["东城镇"]["count"] == 1
    assert {v["name"]: v["count"] for v in townships["西城镇"]["villages"]} == {"一村": 2, "二村": 1}
    assert 'data-village="130727100201"' in counts.content.decode()


def test_a_village_cadre_sees_only_their_village(client, cadre, county):
    assert page(client, cadre, Ledger.LOW_INCOME).context["page_obj"].paginator.count == 3
    response = area_counts(client, cadre, Ledger.LOW_INCOME)
    assert response.context["total"] == 3
    assert [t["name"] for t in response.context["by_township"]] == ["西城镇"]


def test_roles_that_do_not_read_the_ledgers_are_refused(client, helper_user, county):
    assert page(client, helper_user, Ledger.KEY_MONITORING).status_code == 403


def test_an_unknown_ledger_is_a_404(client, county_approver):
    client.force_login(county_approver)
    assert client.get("/reports/ledgers/nothing/").status_code == 404


def test_the_page_takes_a_fixed_number_of_queries(client, county_approver, county, areas):
    client.force_login(county_approver)
    url = reverse("reports:ledger", args=[str(Ledger.ORDINARY)])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(60):  # more rows than a page, in more villages
        hf.household(areas["v22"], household_type=HouseholdType.ORDINARY)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, {"page": 2, "sort": "-member_count", "township": areas["t2"].pk})
    assert response.status_code == 200 and response.context["page_obj"].number == 2
    assert len(many) <= len(few)
    # the page counts once, at most 10,001 keys, without the columns' joins
    counted = [
        q["sql"] for q in many.captured_queries if "households_household" in q["sql"] and "COUNT(" in q["sql"]
    ]
    assert len(counted) == 1 and "LIMIT 10001" in counted[0] and "households_person" not in counted[0]
    # the counts by township and village: one GROUP BY, a fixed number of queries too
    counts_url = reverse("reports:ledger_counts", args=[str(Ledger.ORDINARY)])
    with CaptureQueriesContext(connection) as grouped:
        assert client.get(counts_url, {"township": areas["t2"].pk}).context["total"] == 61
    counted = [q["sql"] for q in grouped.captured_queries if "households_household" in q["sql"]]
    assert len(counted) == 1 and "GROUP BY" in counted[0]


def test_sorting_and_pages(client, county_approver, county, areas):
    for _ in range(55):
        hf.household(areas["v21"], household_type=HouseholdType.ORDINARY, members=2)
    first = page(client, county_approver, Ledger.ORDINARY)
    assert first.context["page_obj"].paginator.num_pages == 2
    column = [c.key for c in HOUSEHOLD_COLUMNS].index("member_count")
    ordered = page(client, county_approver, Ledger.ORDINARY, sort="-member_count")
    counts = [row[column] for row in rows_of(ordered)]
    assert counts == sorted(counts, reverse=True)
    second = page(client, county_approver, Ledger.ORDINARY, sort="-member_count", page=2)
    seen = {row[0] for row in rows_of(ordered)} & {row[0] for row in rows_of(second)}
    assert not seen  # pages never overlap
    assert len(rows_of(ordered)) + len(rows_of(second)) == 58


def test_an_invalid_query_shows_its_errors_and_no_rows(client, county_approver, county):
    response = page(
        client,
        county_approver,
        Ledger.KEY_MONITORING,
        identified_from="2026-02-01",
        identified_to="2026-01-01",
    )
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 0 and rows_of(response) == []
    assert "结束日期不能早于开始日期" in response.content.decode()


# --- the filters --------------------------------------------------------------------------------


def test_filters_narrow_the_rows(county_approver, county, areas):
    user = county_approver
    n = {k: h.number for k, h in county.items()}
    assert numbers(user, Ledger.LOW_INCOME, household_type=HouseholdType.ORDINARY) == {
        n["tracked_ordinary"],
        n["ordinary"],
        n["ordinary_hardship"],
    }
    assert numbers(user, Ledger.STABLE_OUT_OF_POVERTY, monitoring_status="none") == {n["stable"]}
    assert numbers(user, Ledger.STABLE_OUT_OF_POVERTY, monitoring_status=MonitoringStatus.ELIMINATED) == {
        n["stable_eliminated"]
    }
    assert numbers(user, Ledger.ORDINARY, low_income="true") == {n["ordinary"], n["ordinary_hardship"]}
    assert numbers(user, Ledger.ORDINARY, low_income="false") == {n["ordinary_rejected"]}
    assert numbers(user, Ledger.ORDINARY, low_income_status="dibao_edge") == {n["ordinary"]}
    assert numbers(user, Ledger.KEY_MONITORING, township=areas["t2"].pk) == {n["exiting_lagging"]}
    assert numbers(user, Ledger.KEY_MONITORING, village=areas["v12"].pk) == {n["exiting"]}
    # a village outside the township picked, and a township that is not the user's: no rows
    assert numbers(user, Ledger.KEY_MONITORING, township=areas["t2"].pk, village=areas["v12"].pk) == set()
    assert numbers(user, Ledger.KEY_MONITORING, township=areas["v11"].pk) == set()


def test_date_and_risk_type_filters(county_approver, county):
    user = county_approver
    home = county["monitored_out"]
    Household.objects.filter(pk=home.pk).update(identified_on=dt.date(2026, 1, 10))
    assert numbers(user, Ledger.KEY_MONITORING, identified_from="2026-01-10", identified_to="2026-01-10") == {
        home.number
    }
    assert numbers(user, Ledger.KEY_MONITORING, identified_from="2026-01-11") == set()
    risk = RiskType.objects.filter(cases__isnull=True).order_by("code").first()
    MonitoringCase.objects.get(household=home).risk_types.add(risk)
    assert numbers(user, Ledger.KEY_MONITORING, risk_type=risk.code) == {home.number}


def test_a_village_cadre_cannot_widen_their_scope(cadre, county, areas):
    assert numbers(cadre, Ledger.KEY_MONITORING, village=areas["v21"].pk) == set()
    assert numbers(cadre, Ledger.KEY_MONITORING, area="130727200") == set()
    assert len(numbers(cadre, Ledger.KEY_MONITORING)) == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"as_of": "2014-12-31"}, "as_of"),
        ({"as_of": "2999-01-01"}, "as_of"),
        ({"as_of": "01/02/2026"}, "as_of"),
        ({"found_from": "2026-01-01"}, "found_from"),  # a clue filter on a household ledger
        ({"sort": "-found_date"}, "sort"),
        ({"monitoring_status": "sleeping"}, "monitoring_status"),
        ({"village": "0"}, "village"),
    ],
)
def test_bad_queries_name_the_field(county_approver, data, field):
    query = LedgerQuery(data, kind=ListKind.KEY_MONITORING, areas=AreaIndex(county_approver))
    assert not query.is_valid()
    assert field in query.errors


def test_a_past_date_is_passed_to_the_selectors_as_a_date(county_approver, county):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    query = LedgerQuery({"as_of": yesterday}, kind=ListKind.ORDINARY, areas=AreaIndex(county_approver))
    assert query.is_valid()
    assert lists.selector_kwargs(query.selection())["as_of"] == dt.date.fromisoformat(yesterday)
    assert "as_of" not in lists.selector_kwargs({"area": ""})
    cases = LedgerQuery({"as_of": yesterday}, kind=ListKind.CASES, areas=AreaIndex(county_approver))
    assert not cases.is_valid() and "as_of" in cases.errors


def test_a_household_registered_today_is_in_no_ledger_as_of_yesterday(county_approver, county):
    """The page, the API and the count read the ledgers' membership as of the date asked."""
    household = (
        Household.objects.for_user(county_approver)
        .filter(household_type=HouseholdType.ORDINARY, monitoring_status="", low_income_status="")
        .order_by("-pk")
        .first()
    )
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    client = api(county_approver)
    today_rows = client.get("/api/v1/ledgers/ordinary/", {"page_size": 500}).json()
    past_rows = client.get("/api/v1/ledgers/ordinary/", {"page_size": 500, "as_of": yesterday}).json()
    assert today_rows["count"] > 0 and past_rows["count"] == 0, (today_rows["count"], past_rows["count"])
    counts = client.get("/api/v1/ledgers/", {"as_of": yesterday}).json()
    assert {row["ledger"]: row["households"] for row in counts["ledgers"]}["ordinary"] == 0
    page = Client()
    page.force_login(county_approver)
    village = {"village": household.village_id}
    assert household.number in page.get("/reports/ledgers/ordinary/", village).content.decode()
    past = page.get("/reports/ledgers/ordinary/", {**village, "as_of": yesterday})
    assert past.status_code == 200 and household.number not in past.content.decode()


# --- the API ------------------------------------------------------------------------------------


def test_the_five_ledgers_endpoint_answers_the_counts(county_approver, county):
    client = api(county_approver)
    ledgers = client.get("/api/v1/ledgers/")
    counts = client.get("/api/v1/ledgers/counts/")
    assert ledgers.status_code == 200
    assert ledgers.json() == counts.json()
    assert {row["ledger"]: row["count"] for row in ledgers.json()["ledgers"]} == {
        str(k): EXPECTED_COUNTY[k] for k in Ledger
    }


@pytest.mark.parametrize("ledger", list(Ledger))
def test_the_rows_endpoint_gives_the_pages_rows(client, county_approver, county, ledger):
    body = api(county_approver).get(f"/api/v1/ledgers/{ledger}/", {"page_size": 500}).json()
    assert body["count"] == EXPECTED_COUNTY[ledger]
    shown = rows_of(page(client, county_approver, ledger))
    key = "id" if ledger == Ledger.EARLY_WARNING else "number"
    assert [str(row[key]) for row in body["results"]] == [str(row[0]) for row in shown]


def test_the_rows_are_masked_and_coded(county_approver, county):
    body = api(county_approver).get(f"/api/v1/ledgers/{Ledger.KEY_MONITORING}/", {"sort": "number"}).json()
    row = next(r for r in body["results"] if r["number"] == county["monitored_out"].number)
    head = county["monitored_out"].head
    assert row["head_id_number"] == head.id_number[:6] + "********" + head.id_number[-4:]
    assert row["household_type"] == HouseholdType.OUT_OF_POVERTY
    assert row["township"] == "西城镇" and row["village"] == "一村"
    assert row["member_count"] == 1


def test_the_rows_endpoint_refuses_what_it_cannot_answer(county_approver, helper_user, county):
    client = api(county_approver)
    assert client.get("/api/v1/ledgers/nothing/").status_code == 404
    bad = client.get(f"/api/v1/ledgers/{Ledger.ORDINARY}/", {"as_of": "2999-01-01"})
    assert bad.status_code == 400 and "as_of" in bad.json()["fields"]
    assert client.get(f"/api/v1/ledgers/{Ledger.ORDINARY}/", {"colour": "red"}).status_code == 400
    assert (
        client.get(
            f"/api/v1/ledgers/{Ledger.ORDINARY}/", {"household_type": ["ordinary", "ordinary"]}
        ).status_code
        == 400
    )
    assert api(helper_user).get(f"/api/v1/ledgers/{Ledger.ORDINARY}/").status_code == 403


def test_the_rows_endpoint_takes_a_fixed_number_of_queries(county_approver, county, areas):
    client = api(county_approver)
    url = f"/api/v1/ledgers/{Ledger.ORDINARY}/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(30):
        hf.household(areas["v12"], household_type=HouseholdType.ORDINARY)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url, {"township": areas["t1"].pk}).json()["count"] == 32
    assert len(many) <= len(few)


def test_other_roles_rows_follow_their_scope(township_reviewer, county):
    body = api(township_reviewer).get(f"/api/v1/ledgers/{Ledger.KEY_MONITORING}/").json()
    assert body["count"] == 3
    assert {r["township"] for r in body["results"]} == {"西城镇"}


def test_an_operator_and_a_superuser_read_the_ledgers(superuser, areas, county):
    operator = af.user(Role.OPERATOR, areas["county"])
    assert api(operator).get(f"/api/v1/ledgers/{Ledger.ORDINARY}/").json()["count"] == 3
    assert api(superuser).get(f"/api/v1/ledgers/{Ledger.ORDINARY}/").json()["count"] == 3
