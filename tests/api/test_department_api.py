"""The department API: alerts in (one or a batch, idempotent, item by item), the feedback loop,
tasks out (minimal household fields) and their actions; bad input is a 4xx, never a 500."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from households import idnumber
from monitoring.models import (
    AssistanceMeasure,
    CaseStatus,
    Clue,
    ClueStatus,
    MeasureStatus,
    MonitoringCase,
    StatusChange,
)
from monitoring.services import alerts as alert_service
from monitoring.services import clues
from tests.accounts import factories as af
from tests.api.conftest import today
from tests.households import factories as hf
from tests.monitoring import factories as mf
from tests.monitoring.helpers import run_procedure
from tests.transactional import (  # noqa: F401 (fixtures)
    HOLD,
    race,
    reference_data,
    reference_data_afterwards,
)

URL = "/api/v1/alerts/"
TASKS = "/api/v1/tasks/"
_ext = itertools.count(1)


def alert(**overrides) -> dict:
    body = {
        "external_id": f"YB-{next(_ext):06d}",
        "id_number": hf.id_number(),
        "name": "张三",
        "risk_type": "01",
        "found_date": (today() - dt.timedelta(days=3)).isoformat(),
        "description": "住院自付费用较高",
        "amount": "52000.00",
    }
    body.update(overrides)
    return body


def post(client, data):
    return client.post(URL, data, format="json")


def assert_error_shape(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert {"code", "message", "fields"} <= set(body), body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body


def head_number(household) -> str:
    return household.head.id_number


# --- one alert ------------------------------------------------------------------------------


def test_one_alert_is_created_then_found_again(api, hh, medical):
    body = alert(id_number=head_number(hh), name=hh.head.name)
    response = post(api, body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["external_id"] == body["external_id"]
    assert data["id_number"] == head_number(hh)
    assert data["status"] == ClueStatus.PENDING and data["status_display"] == "待研判"
    assert data["risk_types"] == ["01"] and data["amount"] == "52000.00"
    assert data["case_status"] is None and data["outcome"] == ""
    # nothing about the registry beyond what was sent
    assert not {"household", "person", "area_code", "village"} & set(data)

    clue = Clue.objects.get(pk=data["id"])
    assert clue.department == medical and clue.household == hh and clue.person == hh.head
    assert clue.area_code == hh.area_code and clue.channel == "department_alert"

    again = post(api, {**body, "description": "重发"})
    assert again.status_code == 200
    assert again.json()["id"] == data["id"]
    assert Clue.objects.filter(department=medical).count() == 1


def test_a_valid_number_not_in_the_registry_waits_for_matching(api, areas):
    response = post(api, alert(risk_types=["0201", "03"], risk_type=None))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == ClueStatus.UNMATCHED
    assert sorted(data["risk_types"]) == ["0201", "03"]
    clue = Clue.objects.get(pk=data["id"])
    assert clue.household is None
    assert clue.area_code == areas["county"].code  # the department account's county


def test_one_rejected_alert_is_the_error_shape(api):
    body = assert_error_shape(post(api, alert(id_number="130727198001010013")), 400, "invalid")
    assert "id_number" in body["fields"]
    assert not Clue.objects.exists()


def test_an_alert_never_opens_a_case_and_attaches_to_an_open_one(api, hh):
    case = mf.case(hh, status=CaseStatus.IDENTIFYING, risks=["01"])
    response = post(api, alert(id_number=head_number(hh), risk_type="03"))
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == ClueStatus.ATTACHED
    assert data["outcome"] == f"已并入在办案件（#{case.pk}）"
    assert data["case_status"] == CaseStatus.IDENTIFYING
    case.refresh_from_db()
    assert case.version == 1
    assert sorted(case.risk_types.values_list("code", flat=True)) == ["01", "03"]
    # a household without a case gets none from an alert
    other = hf.household(hh.village, members=1)
    assert post(api, alert(id_number=head_number(other))).json()["status"] == ClueStatus.PENDING
    assert not MonitoringCase.objects.filter(household=other).exists()


def test_stored_outcome_text_is_in_the_deployment_language(api, hh):
    case = mf.case(hh, status=CaseStatus.MONITORED)
    response = api.post(URL, alert(id_number=head_number(hh)), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201
    assert Clue.objects.get().outcome == f"已并入在办案件（#{case.pk}）"
    refused = api.post(URL, alert(name=""), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400  # messages to the caller follow its language


# --- batches --------------------------------------------------------------------------------


def test_the_same_batch_twice_gives_the_same_alerts(api, hh, medical):
    batch = [alert(id_number=head_number(hh)), alert(), alert(risk_types=["03", "04"], risk_type=None)]
    first = post(api, batch)
    assert first.status_code == 201, first.content
    body = first.json()
    assert (body["created"], body["existing"], body["rejected"]) == (3, 0, 0)
    ids = [r["id"] for r in body["results"]]
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert [r["result"] for r in body["results"]] == ["created"] * 3
    rows = (Clue.objects.count(), StatusChange.objects.count(), Clue.risk_types.through.objects.count())

    second = post(api, batch)
    assert second.status_code == 200
    body = second.json()
    assert (body["created"], body["existing"], body["rejected"]) == (0, 3, 0)
    assert [r["result"] for r in body["results"]] == ["existing"] * 3
    assert [r["id"] for r in body["results"]] == ids
    assert rows == (
        Clue.objects.count(),
        StatusChange.objects.count(),
        Clue.risk_types.through.objects.count(),
    )
    assert Clue.objects.filter(department=medical).count() == 3


def test_a_mixed_batch_answers_item_by_item_and_applies_nothing_half(api, hh):
    good = alert(id_number=head_number(hh))
    batch = [
        good,
        alert(id_number="130727198001010013"),  # wrong check digit
        alert(risk_type="88"),  # unknown risk code
        {**good, "description": "同一批内重复"},
        alert(found_date=(today() + dt.timedelta(days=1)).isoformat()),  # future
        alert(risk_type="02"),  # natural disaster without its sub-item
        "not an object",
        alert(amount="-5"),
        alert(unexpected="x"),
        alert(),
    ]
    response = post(api, batch)
    assert response.status_code == 201, response.content
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(batch)))
    assert [r["result"] for r in results] == [
        "created",
        "rejected",
        "rejected",
        "existing",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "created",
    ]
    assert (body["created"], body["existing"], body["rejected"]) == (2, 1, 7)
    assert results[3]["id"] == results[0]["id"]  # the repeat points at the first
    assert set(results[1]["errors"]) == {"id_number"}
    assert "未知的风险类型" in results[2]["errors"]["risk_type"]
    assert set(results[4]["errors"]) == {"found_date"}
    assert set(results[5]["errors"]) == {"risk_type"}
    assert set(results[6]["errors"]) == {"non_field_errors"}
    assert set(results[7]["errors"]) == {"amount"}
    assert set(results[8]["errors"]) == {"unexpected"}
    for r in results:
        assert (r["id"] is None) == (r["result"] == "rejected")
        assert (r["errors"] != {}) == (r["result"] == "rejected")
    # only the two created alerts left rows anywhere
    created = {results[0]["id"], results[9]["id"]}
    assert set(Clue.objects.values_list("pk", flat=True)) == created
    assert set(StatusChange.objects.filter(object_type="clue").values_list("object_id", flat=True)) == created
    assert set(Clue.risk_types.through.objects.values_list("clue_id", flat=True)) == created


def test_a_batch_of_only_rejections_is_400_with_the_item_results(api):
    response = post(api, [alert(id_number="123"), alert(risk_type="")])
    body = assert_error_shape(response, 400, "invalid")
    assert body["rejected"] == 2 and body["created"] == 0
    assert [r["result"] for r in body["results"]] == ["rejected", "rejected"]
    assert set(body["fields"]) == {"[0].id_number", "[1].risk_type"}
    assert not Clue.objects.exists()


def test_a_later_valid_copy_of_a_rejected_external_id_is_created(api):
    valid = alert()
    response = post(api, [{**valid, "id_number": "bad"}, valid, {**valid, "name": ""}])
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["rejected", "created", "existing"]
    assert results[2]["id"] == results[1]["id"]


def test_a_batch_over_1000_is_refused_whole(api):
    response = post(api, [alert() for _ in range(1001)])
    body = assert_error_shape(response, 400, "batch_too_large")
    assert "1000" in body["message"]
    assert not Clue.objects.exists()


def test_a_batch_of_1000_is_accepted(api, areas):
    households = [hf.household(areas["v11"], members=1) for _ in range(20)]
    case = mf.case(households[0], status=CaseStatus.IDENTIFYING)
    batch = [alert(id_number=head_number(households[i % 20]) if i % 3 == 0 else None) for i in range(1000)]
    for item in batch:
        if item["id_number"] is None:
            item["id_number"] = hf.id_number()
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        response = post(api, batch)
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.content[:500]
    body = response.json()
    assert body["created"] == 1000
    assert Clue.objects.count() == 1000
    assert Clue.objects.filter(status=ClueStatus.ATTACHED, case=case).count() == len(range(0, 1000, 60))
    assert StatusChange.objects.filter(object_type="clue").count() == 1000 + len(range(0, 1000, 60))
    # set-based: a fixed number of reads, and inserts in chunks (SQLite caps the parameters)
    assert len(queries) < 120, len(queries)
    print(f"\n1000 alerts: {elapsed:.2f}s, {len(queries)} queries ({connection.vendor})")


@pytest.mark.parametrize(
    "payload",
    [[], "just a string", 42, None, True],
    ids=["empty-list", "string", "number", "null", "bool"],
)
def test_a_body_that_is_neither_object_nor_list_is_400(api, payload):
    response = api.post(URL, json.dumps(payload), content_type="application/json")
    assert_error_shape(response, 400)


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"external_id": "A1",}', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b'{"amount": NaN}'],
    ids=["truncated", "trailing-comma", "not-utf8", "deeply-nested", "nan"],
)
def test_malformed_json_is_400_parse_error(api, raw):
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert_error_shape(response, 400, "parse_error")


def test_a_form_post_is_415(api):
    response = api.post(URL, {"external_id": "x"})  # multipart
    assert_error_shape(response, 415)


def test_an_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(api, [alert() for _ in range(20)])
    assert_error_shape(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_id": ""}, "external_id"),
        ({"external_id": "x" * 65}, "external_id"),
        ({"external_id": ["a"]}, "external_id"),
        ({"id_number": None}, "id_number"),
        ({"id_number": 130727198001010012}, "id_number"),
        ({"id_number": "1" * 100_000}, "id_number"),
        ({"id_number": "13072719800101001"}, "id_number"),  # 17 digits
        ({"id_number": "130727800101001"}, "id_number"),  # old 15-digit number
        ({"id_number": "130727199902300011"}, "id_number"),  # 30 February
        ({"id_number": "13072719800101001Y"}, "id_number"),
        ({"name": ""}, "name"),
        ({"name": "张" * 51}, "name"),
        ({"name": {"first": "三"}}, "name"),
        ({"description": "很" * 2001}, "description"),
        ({"description": 5}, "description"),
        ({"risk_type": 1}, "risk_type"),
        ({"risk_type": None}, "risk_type"),
        ({"risk_type": "x" * 10_000}, "risk_type"),
        ({"risk_type": None, "risk_types": "01"}, "risk_types"),
        ({"risk_type": None, "risk_types": [1, 2]}, "risk_types"),
        ({"risk_type": None, "risk_types": ["01", "03", "04", "05", "06", "07"]}, "risk_types"),
        ({"risk_types": ["03"]}, "risk_type"),  # both given
        ({"found_date": "2026-02-30"}, "found_date"),
        ({"found_date": "01/03/2026"}, "found_date"),
        ({"found_date": "2026-03-01T10:00:00"}, "found_date"),
        ({"found_date": 20260301}, "found_date"),
        ({"found_date": ["2026-03-01"]}, "found_date"),
        ({"found_date": "２０２６-０３-０１"}, "found_date"),
        ({"found_date": "2000-01-01"}, "found_date"),  # more than two years ago
        ({"found_date": None}, "found_date"),
        ({"amount": "abc"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": {"v": 1}}, "amount"),
        ({"amount": "1e999"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": 1e300}, "amount"),
        ({"amount": "0.001"}, "amount"),
    ],
)
def test_bad_fields_are_rejected_with_their_message(api, overrides, field):
    body = alert(**overrides)
    response = post(api, body)
    data = assert_error_shape(response, 400, "invalid")
    assert field in data["fields"], data
    assert not Clue.objects.exists()


def test_missing_fields_are_named(api):
    data = assert_error_shape(post(api, {}), 400, "invalid")
    assert {"external_id", "id_number", "name", "risk_type", "found_date"} <= set(data["fields"])


def test_optional_fields_may_be_left_out(api):
    body = alert()
    del body["description"], body["amount"]
    response = post(api, body)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] is None


def test_numeric_external_ids_and_full_width_id_numbers_are_read(api):
    number = hf.id_number()
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = post(api, alert(external_id=778899, id_number=f" {full_width} "))
    assert response.status_code == 201, response.content
    assert response.json()["external_id"] == "778899"
    assert response.json()["id_number"] == number


# --- the batch service against clue_create ----------------------------------------------------


def _snapshot(external_ids: list[str], case_ids: list[int]) -> dict:
    clue_rows = list(
        Clue.objects.filter(external_id__in=external_ids)
        .order_by("pk")
        .values(
            "channel",
            "department_id",
            "external_id",
            "reported_by_id",
            "reporter_name",
            "found_date",
            "description",
            "amount",
            "id_number",
            "name",
            "person_id",
            "household_id",
            "area_code",
            "status",
            "case_id",
            "dismiss_reason",
            "outcome",
            "outcome_at",
            "rule_code",
            "period",
        )
    )
    ext_by_pk = dict(Clue.objects.filter(external_id__in=external_ids).values_list("pk", "external_id"))
    risks = sorted(
        (ext_by_pk[c], code)
        for c, code in Clue.risk_types.through.objects.filter(clue_id__in=ext_by_pk).values_list(
            "clue_id", "risktype__code"
        )
    )
    changes = [
        (
            ext_by_pk[c.object_id],
            c.action,
            c.from_status,
            c.to_status,
            c.case_id,
            c.actor_id,
            c.at,
            c.reason,
            c.data,
        )
        for c in StatusChange.objects.filter(object_type="clue", object_id__in=ext_by_pk).order_by("pk")
    ]
    cases = [
        (c.pk, c.version, sorted(c.risk_types.values_list("code", flat=True)))
        for c in MonitoringCase.objects.filter(pk__in=case_ids).order_by("pk")
    ]
    return {"clues": clue_rows, "risks": risks, "changes": changes, "cases": cases}


def test_the_batch_writes_the_same_rows_as_clue_create_item_by_item(areas, medical):
    dept_user = mf.department_user("medical_insurance", areas["county"])
    a = hf.household(areas["v11"], members=2)
    b = hf.household(areas["v12"], members=1)
    c = hf.household(areas["v21"], members=1)
    case_b = mf.case(b, status=CaseStatus.IDENTIFYING, risks=["01"])
    case_c = mf.case(c, status=CaseStatus.MONITORED, risks=["01"])
    second_member = a.members.exclude(pk=a.head_id).get()
    found = today() - dt.timedelta(days=5)
    items = [
        {
            "external_id": "E1",
            "id_number": a.head.id_number,
            "name": "甲",
            "risk_types": ["01"],
            "amount": "100.50",
        },
        {"external_id": "E2", "id_number": hf.id_number(), "name": "乙", "risk_types": ["0201", "03"]},
        {"external_id": "E3", "id_number": b.head.id_number, "name": "丙", "risk_types": ["03"]},
        {
            "external_id": "E4",
            "id_number": b.head.id_number,
            "name": "丙",
            "risk_types": ["04", "05", "06", "07"],
        },
        {"external_id": "E5", "id_number": b.head.id_number, "name": "丙", "risk_types": ["04"]},
        {"external_id": "E6", "id_number": c.head.id_number, "name": "丁", "risk_types": ["09"]},
        {"external_id": "E1", "id_number": a.head.id_number, "name": "甲", "risk_types": ["01"]},
        {
            "external_id": "E7",
            "id_number": second_member.id_number,
            "name": "戊",
            "risk_types": ["10"],
            "description": "房屋开裂",
        },
    ]
    for item in items:
        item["found_date"] = found
    now = mf.at(today(), 9)
    external_ids = [i["external_id"] for i in items]
    case_ids = [case_b.pk, case_c.pk]

    def one_by_one():
        for item in items:
            fields = dict(item)
            fields["risk_type_codes"] = fields.pop("risk_types")
            if "amount" in fields:
                fields["amount"] = Decimal(fields["amount"])
            clues.alert_receive(actor=dept_user, department=medical, now=now, **fields)

    def batch():
        results = alert_service.alerts_receive(actor=dept_user, department=medical, items=items, now=now)
        assert [r["result"] for r in results] == ["created"] * 6 + ["existing", "created"]

    snapshots = []
    for run in (one_by_one, batch):
        with transaction.atomic():
            run()
            snapshots.append(_snapshot(external_ids, case_ids))
            transaction.set_rollback(True)
    sequential, batched = snapshots
    assert len(sequential["clues"]) == 7
    assert {r["status"] for r in sequential["clues"]} == {"pending", "unmatched", "attached"}
    assert sequential["cases"][0][1] == 3  # three clues attached to the identifying case
    assert sequential == batched


def test_the_batch_service_refuses_another_role(areas, medical, county_approver):
    from accounts.errors import NotAllowed

    with pytest.raises(NotAllowed):
        alert_service.alerts_receive(actor=county_approver, department=medical, items=[alert()])


# --- the list, the detail and the feedback loop ----------------------------------------------


def test_a_department_sees_only_its_own_alerts(api, civil_api):
    mine = post(api, alert()).json()
    theirs = post(civil_api, alert()).json()
    listed = api.get(URL).json()
    assert [a["id"] for a in listed["results"]] == [mine["id"]]
    assert listed["count"] == 1
    assert api.get(f"{URL}{mine['id']}/").status_code == 200
    assert_error_shape(api.get(f"{URL}{theirs['id']}/"), 404, "not_found")
    # the same external id is another department's own business
    same = post(civil_api, alert(external_id=mine["external_id"]))
    assert same.status_code == 201


def test_the_alert_list_filters(api, hh):
    old = post(api, alert(found_date=(today() - dt.timedelta(days=40)).isoformat())).json()
    recent = post(api, alert(id_number=head_number(hh))).json()

    def ids(**params):
        response = api.get(URL, params)
        assert response.status_code == 200, response.content
        return {a["id"] for a in response.json()["results"]}

    assert ids(status="unmatched") == {old["id"]}
    assert ids(status=["unmatched", "pending"]) == {old["id"], recent["id"]}
    assert ids(found_to=(today() - dt.timedelta(days=10)).isoformat()) == {old["id"]}
    assert ids(found_from=(today() - dt.timedelta(days=10)).isoformat()) == {recent["id"]}
    assert ids(received_from=today().isoformat(), received_to=today().isoformat()) == {
        old["id"],
        recent["id"],
    }
    assert ids(received_to=(today() - dt.timedelta(days=1)).isoformat()) == set()
    assert ids(external_id=old["external_id"]) == {old["id"]}
    assert ids(ordering="found_date") == {old["id"], recent["id"]}
    assert [a["id"] for a in api.get(URL, {"ordering": "found_date"}).json()["results"]] == [
        old["id"],
        recent["id"],
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"found_from": "yesterday"},
        {"received_to": "9999-12-31"},
        {"received_from": "0001-01-01"},
        {"outcome_since": "0001-01-01T00:00:00+08:00"},
        {"outcome_since": "not a time"},
        # offsets no place uses (PostgreSQL refuses some of them: this was a 500)
        {"outcome_since": "2026-01-29T00:50:45+16:00"},
        {"outcome_since": "2026-01-29T00:50:45-23:59"},
        {"outcome_since": "2026-01-29T00:50:45+19:12"},
        {"outcome_since": "2026-01-29T00:50:45-12:01"},
    ],
)
def test_bad_filters_are_400(api, params):
    assert_error_shape(api.get(URL, params), 400, "invalid")


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "+05:45", "Z"])
def test_every_real_utc_offset_is_taken(api, offset):
    response = api.get(URL, {"outcome_since": f"2026-01-29T00:50:45{offset}"})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", ["abc/", "99999999999999999999999/", "-1/"])
def test_odd_ids_are_404(api, path):
    assert_error_shape(api.get(URL + path), 404)
    assert_error_shape(api.get(TASKS + path), 404)


def test_the_alert_list_makes_a_fixed_number_of_queries(api, areas, django_assert_max_num_queries):
    households = [hf.household(areas["v11"], members=1) for _ in range(6)]
    for h in households[:3]:
        mf.case(h, status=CaseStatus.IDENTIFYING)
    post(api, [alert(id_number=head_number(h), risk_types=["01", "03"], risk_type=None) for h in households])
    post(api, [alert() for _ in range(30)])

    counts = []
    for size in (2, 36):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(URL, {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(7):  # key, department, count, page, risk types, call log
        api.get(URL, {"page_size": 36})


def test_the_department_reads_how_the_county_handled_its_alerts(api, hh, county_approver, actors):
    dismissed = post(api, alert()).json()
    opened = post(api, alert(id_number=head_number(hh))).json()

    clues.clue_dismiss(
        actor=county_approver,
        clue=Clue.objects.get(pk=dismissed["id"]),
        reason="not_at_risk",
        note="已参保报销",
    )
    got = api.get(f"{URL}{dismissed['id']}/").json()
    assert got["status"] == ClueStatus.DISMISSED
    assert got["dismiss_reason"] == "not_at_risk"
    assert got["outcome"] == "已排除：经核实无风险（已参保报销）"
    assert got["outcome_at"] is not None

    case = clues.clue_open_case(actor=county_approver, clue=Clue.objects.get(pk=opened["id"]))
    got = api.get(f"{URL}{opened['id']}/").json()
    assert got["status"] == ClueStatus.CASE_OPENED
    assert got["case_status"] == CaseStatus.IDENTIFYING and got["case_status_display"] == "识别中"
    assert got["outcome"] == "已启动识别程序"

    run_procedure(case, actors, today())
    got = api.get(f"{URL}{opened['id']}/").json()
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    assert got["case_status"] == CaseStatus.MONITORED
    assert "纳入" in got["outcome"] or "监测" in got["outcome"], got["outcome"]
    # and the list shows the same, filterable by handling status
    listed = api.get(URL, {"status": "dismissed"}).json()["results"]
    assert [a["id"] for a in listed] == [dismissed["id"]]


def test_a_case_not_included_is_fed_back(api, hh, actors):
    from monitoring.services import cases

    opened = post(api, alert(id_number=head_number(hh))).json()
    case = clues.clue_open_case(actor=actors.county_approver, clue=Clue.objects.get(pk=opened["id"]))
    run_procedure(case, actors, today(), until="county_approval")
    approval = case.steps.get(code="county_approval")
    cases.step_reject(actor=actors.county_approver, step=approval, reason="收入高于监测线")
    got = api.get(f"{URL}{opened['id']}/").json()
    assert got["case_status"] == CaseStatus.NOT_INCLUDED
    assert got["outcome"].startswith("不予纳入") and "收入高于监测线" in got["outcome"]


# --- who may call -----------------------------------------------------------------------------


def test_a_department_person_with_a_session_may_use_the_endpoints(department_person, hh):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(department_person)
    response = post(client, alert(id_number=head_number(hh)))
    assert response.status_code == 201, response.content
    assert client.get(URL).json()["count"] == 1
    assert client.get(TASKS).status_code == 200


@pytest.mark.parametrize("role", [Role.COUNTY_APPROVER, Role.OPERATOR, Role.VILLAGE_CADRE])
def test_staff_may_not_use_the_department_endpoints(areas, role):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(af.user(role, areas["county"] if role != Role.VILLAGE_CADRE else areas["v11"]))
    assert_error_shape(client.get(URL), 403, "permission_denied")
    assert_error_shape(post(client, alert()), 403, "permission_denied")
    assert_error_shape(client.get(TASKS), 403, "permission_denied")


def test_no_credentials_is_401(db):
    from rest_framework.test import APIClient

    response = APIClient().get(URL)
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_a_switched_off_department_is_refused(api, medical):
    medical.is_active = False
    medical.save()
    assert_error_shape(post(api, alert()), 403)
    assert_error_shape(api.get(URL), 403)


# --- tasks ------------------------------------------------------------------------------------


@pytest.fixture
def tasks(hh, medical, civil):
    """An identified case with a medical-insurance measure and a civil-affairs one."""
    case = mf.case(
        hh, status=CaseStatus.MONITORED, risks=["01"], identified_on=today() - dt.timedelta(days=5)
    )
    mine = AssistanceMeasure.objects.create(
        case=case,
        measure=mf.measure("M0502"),
        department=medical,
        planned_end=today() + dt.timedelta(days=20),
    )
    theirs = AssistanceMeasure.objects.create(case=case, measure=mf.measure("M0101"), department=civil)
    return {"case": case, "mine": mine, "theirs": theirs}


def test_tasks_show_only_what_the_task_needs(api, tasks, hh):
    response = api.get(TASKS)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1
    (task,) = body["results"]
    assert task["id"] == tasks["mine"].pk
    assert task["measure_code"] == "M0502" and task["measure_name"] == "医疗救助"
    assert task["status"] == MeasureStatus.PLANNED
    household = task["household"]
    assert set(household) == {"number", "village", "head_name", "head_id_number", "phone"}
    assert household["number"] == hh.number
    assert household["village"] == hh.village.name
    assert household["head_name"] == hh.head.name
    assert household["head_id_number"] == idnumber.mask(hh.head.id_number) != hh.head.id_number
    assert household["phone"] == "139****5678"
    text = response.content.decode()
    assert hh.head.id_number not in text and "13912345678" not in text
    for private in ("income", "health", "per_capita", "members", "disability", "area_code"):
        assert private not in text


def test_tasks_filter_by_status(api, tasks):
    assert api.get(TASKS, {"status": "implemented"}).json()["count"] == 0
    assert api.get(TASKS, {"status": ["planned", "in_progress"]}).json()["count"] == 1
    assert_error_shape(api.get(TASKS, {"status": "done"}), 400)


def test_start_and_complete_a_task(api, tasks, medical):
    url = f"{TASKS}{tasks['mine'].pk}/"
    started = api.post(url + "start/", {}, format="json")
    assert started.status_code == 200, started.content
    assert started.json()["status"] == MeasureStatus.IN_PROGRESS

    done = api.post(
        url + "complete/",
        {"actual_date": today().isoformat(), "amount": "3000.00", "note": "医疗救助已拨付"},
        format="json",
    )
    assert done.status_code == 200, done.content
    data = done.json()
    assert data["status"] == MeasureStatus.IMPLEMENTED
    assert data["actual_date"] == today().isoformat() and data["amount"] == "3000.00"
    assert data["note"] == "医疗救助已拨付"
    change = StatusChange.objects.filter(
        object_type="measure", object_id=tasks["mine"].pk, action="complete"
    ).get()
    assert change.actor.department == medical

    again = api.post(url + "complete/", {"actual_date": today().isoformat()}, format="json")
    assert_error_shape(again, 409, "invalid_transition")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "actual_date"),
        ({"actual_date": "tomorrow"}, "actual_date"),
        ({"actual_date": "0001-01-01"}, "actual_date"),
        ({"actual_date": "2999-01-01"}, "actual_date"),
        ({"actual_date": "2026-01-01", "amount": -1}, "amount"),
        ({"actual_date": "2026-01-01", "amount": "1" * 20}, "amount"),
        ({"actual_date": "2026-01-01", "note": "长" * 301}, "note"),
    ],
)
def test_completing_with_bad_input_is_400(api, tasks, body, field):
    response = api.post(f"{TASKS}{tasks['mine'].pk}/complete/", body, format="json")
    data = assert_error_shape(response, 400, "invalid")
    assert field in data["fields"], data
    tasks["mine"].refresh_from_db()
    assert tasks["mine"].status == MeasureStatus.PLANNED


def test_a_completion_date_before_the_risk_was_found_is_400(api, tasks):
    early = tasks["case"].found_date - dt.timedelta(days=1)
    response = api.post(
        f"{TASKS}{tasks['mine'].pk}/complete/", {"actual_date": early.isoformat()}, format="json"
    )
    assert "actual_date" in assert_error_shape(response, 400, "invalid")["fields"]


def test_another_departments_task_is_404(api, tasks):
    url = f"{TASKS}{tasks['theirs'].pk}/"
    assert_error_shape(api.get(url), 404)
    assert_error_shape(api.post(url + "start/", {}, format="json"), 404)
    assert_error_shape(api.post(url + "complete/", {"actual_date": today().isoformat()}, format="json"), 404)
    tasks["theirs"].refresh_from_db()
    assert tasks["theirs"].status == MeasureStatus.PLANNED


def test_a_key_of_another_department_sees_neither_alerts_nor_tasks(civil_api, api, tasks):
    mine = post(api, alert()).json()
    assert_error_shape(civil_api.get(f"{URL}{mine['id']}/"), 404)
    assert civil_api.get(URL).json()["count"] == 0
    assert_error_shape(civil_api.get(f"{TASKS}{tasks['mine'].pk}/"), 404)
    # civil affairs has its own task
    assert [t["id"] for t in civil_api.get(TASKS).json()["results"]] == [tasks["theirs"].pk]


def test_the_task_list_makes_a_fixed_number_of_queries(api, areas, medical, django_assert_max_num_queries):
    for _ in range(5):
        h = hf.household(areas["v11"], members=1, phone="13800001111")
        case = mf.case(h, status=CaseStatus.MONITORED, identified_on=today())
        AssistanceMeasure.objects.create(case=case, measure=mf.measure("M0502"), department=medical)
    with django_assert_max_num_queries(6):
        response = api.get(TASKS)
    assert response.json()["count"] == 5


# --- the schema -------------------------------------------------------------------------------


def test_the_schema_documents_the_department_endpoints(client, db):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    assert {
        "/api/v1/alerts/",
        "/api/v1/alerts/{id}/",
        "/api/v1/tasks/",
        "/api/v1/tasks/{id}/complete/",
    } <= set(paths)
    post_ = paths["/api/v1/alerts/"]["post"]
    assert {"200", "201", "400", "401", "403"} <= set(post_["responses"])
    assert "1000" in post_["description"]
    assert "DepartmentKey" in schema["components"]["securitySchemes"]


# --- the same alerts at once (PostgreSQL) -------------------------------------------------------
# Last in the module: a transactional test empties every table, and the module-scoped fixture
# below puts the seeded reference data back only when the module is done.


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
@pytest.mark.parametrize("first_path", ["batch", "single"])
def test_the_same_alerts_sent_twice_at_once_are_stored_once(areas, first_path):
    from accounts.models import Department

    medical = Department.objects.get(code="medical_insurance")
    dept_user = mf.department_user("medical_insurance", areas["county"])
    a, b, c = alert(), alert(), alert()

    def first():
        if first_path == "single":
            fields = {k: v for k, v in b.items() if k not in ("risk_type", "amount", "external_id")}
            fields["found_date"] = dt.date.fromisoformat(fields["found_date"])
            clue, created = clues.alert_receive(
                actor=dept_user,
                department=medical,
                external_id=b["external_id"],
                risk_type_codes=["01"],
                **fields,
            )
            return [{"id": clue.pk, "result": "created" if created else "existing"}]
        return alert_service.alerts_receive(actor=dept_user, department=medical, items=[a, b])

    def second():
        return alert_service.alerts_receive(actor=dept_user, department=medical, items=[b, c, b])

    out = race(first, second)
    assert not isinstance(out["first"], Exception), out["first"]
    assert not isinstance(out["second"], Exception), out["second"]
    assert out["waited"] >= HOLD / 2  # the insert waited for the first transaction
    first_b = out["first"][-1]
    assert [r["result"] for r in out["second"]] == ["existing", "created", "existing"]
    assert out["second"][0]["id"] == out["second"][2]["id"] == first_b["id"]
    assert Clue.objects.filter(department=medical, external_id=b["external_id"]).count() == 1
    expected = 3 if first_path == "batch" else 2
    assert Clue.objects.filter(department=medical).count() == expected
    assert StatusChange.objects.filter(object_type="clue", action="receive_unmatched").count() == expected
    assert Clue.risk_types.through.objects.count() == expected
