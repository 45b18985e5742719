"""Property-based fuzzing of the REST API against its own OpenAPI schema (schemathesis).

Every operation of ``/api/v1/schema/`` is called in-process through the WSGI app, once with a
department key carrying all four scopes and once with a county approver's token, over a small
county with real rows (households with members and income, cases at several steps, clues,
alerts, visits and measures of the key's department), so that retrieves and actions sometimes
hit real objects. Every answer must:

* never be a 5xx;
* have a status the schema documents for the operation (``config.schema.document_errors``
  documents the refusals any call can meet), match the schema for it, with a documented
  content type;
* be ``{"code", "message", "fields"}`` and nothing else whenever it is a 4xx;
* for schema-valid input (every phase: examples, coverage, fuzzing), be accepted, or refused
  only for what a schema cannot know (a row that is not there, a role, a conflict; and, on the
  writes whose rules read the rows they name, a 400 naming the field);
* for schema-violating input (coverage and fuzzing in negative mode, without the plausible-body
  hooks), be refused;
* and over sequences of calls that follow the links schemathesis infers (stateful), the same.

The run is bounded (a few examples per operation, derandomized) to stay quick on CI.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import schemathesis
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.api_auth import KeyRateThrottle, StaffRateThrottle
from accounts.models import ApiCallLog, Department, Scope
from accounts.services import api_key_issue
from accounts.tokens import token_issue
from households import services as household_services
from households.models import Household, MonitoringCategory, Person
from monitoring.api.serializers import CaseActionSerializer
from monitoring.models import (
    AssistanceMeasure,
    CaseStep,
    Clue,
    DismissReason,
    ExitMode,
    MonitoringCase,
    Objection,
    StepKind,
    StepStatus,
    Visit,
)
from monitoring.rules.steps import validate_step_data
from monitoring.services import assistance, cases, clues, visits
from monitoring.services.alerts import RiskCodes, alerts_receive, clean_alert
from tests.api.conftest import today
from tests.households import factories as hf
from tests.monitoring import factories as mf

ERROR_KEYS = {"code", "message", "fields"}
UNLIMITED = {"api_key": "1000000/min", "user": "1000000/min"}

# --- the county ------------------------------------------------------------------------------


def _step(case: MonitoringCase, code: str) -> CaseStep:
    return case.steps.get(code=code, procedure_kind="identification", status=StepStatus.AVAILABLE)


def _build_world(areas, cadre, reviewer, approver, medical: Department, key_user) -> dict[str, list[int]]:
    """A few households, cases at several steps, clues, alerts, a visit and measures."""
    day = today()
    homes = [
        hf.household(areas["v11"], members=3, phone="13912345678"),
        hf.household(areas["v11"], members=2, phone="13912345679"),
        hf.household(areas["v11"], members=2),
        hf.household(areas["v21"], members=1),
        hf.household(areas["v22"], members=2),
    ]
    Household.objects.filter(pk__in=[h.pk for h in homes]).update(
        created_at=mf.at(day - dt.timedelta(days=400))
    )
    for i, home in enumerate(homes):
        household_services.income_record_set(
            actor=None, household=home, year=day.year - 1, wages=20000 + 1000 * i, transfer="1200.50"
        )

    # a case just opened (home verification available)
    clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=day - dt.timedelta(days=3),
        risk_type_codes=["01"],
        household=homes[0],
    )
    # a case further on: the checks done, the village notice posted
    clue = clues.clue_create(
        actor=cadre,
        channel="cadre_screening",
        found_date=day - dt.timedelta(days=2),
        risk_type_codes=["01"],
        household=homes[1],
    )
    case = clue.case
    cases.step_complete(
        actor=cadre,
        step=_step(case, "home_verification"),
        data={
            "visited_on": day.isoformat(),
            "visitors": ["张三"],
            "authorization_signed": True,
            "findings": "已入户核实",
        },
    )
    cases.step_complete(actor=approver, step=_step(case, "data_comparison"), data={"findings": "比对无异常"})
    cases.step_complete(actor=reviewer, step=_step(case, "township_review"), data={"opinion": "同意"})
    cases.step_complete(
        actor=cadre,
        step=_step(case, "village_review"),
        data={
            "held_on": day.isoformat(),
            "attendees": 9,
            "votes_for": 8,
            "votes_against": 1,
            "votes_abstain": 0,
            "minutes": "评议通过",
        },
    )
    cases.notice_post(actor=cadre, step=_step(case, "village_notice"))
    # a case after home verification only (three steps open at once)
    clue = clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=day - dt.timedelta(days=1),
        risk_type_codes=["01"],
        household=homes[2],
    )
    cases.step_complete(
        actor=cadre,
        step=_step(clue.case, "home_verification"),
        data={
            "visited_on": day.isoformat(),
            "visitors": "张三，李四",
            "authorization_signed": True,
            "findings": "属实",
        },
    )
    # a monitored case with a plan: the medical-insurance bureau owns two of its measures
    monitored = mf.case(homes[3], identified_on=day - dt.timedelta(days=30))
    assistance.plan_set(
        actor=approver,
        case=monitored,
        items=[{"measure": "M0504"}, {"measure": "M0502"}, {"measure": "M0501"}, {"measure": "M0101"}],
    )
    started = AssistanceMeasure.objects.get(case=monitored, measure__code="M0501")
    assistance.measure_start(actor=approver, measure=started)
    # the bureau's alerts: one for a registered person (matched), one nobody knows (pending)
    alerts_receive(
        actor=key_user,
        department=medical,
        items=[
            {
                "external_id": "YB-1",
                "id_number": homes[4].head.id_number,
                "name": homes[4].head.name,
                "risk_type": "01",
                "found_date": (day - dt.timedelta(days=5)).isoformat(),
                "amount": "52000.00",
            },
            {
                "external_id": "YB-2",
                "id_number": hf.id_number(),
                "name": "未登记",
                "risk_types": ["01"],
                "found_date": (day - dt.timedelta(days=4)).isoformat(),
            },
        ],
    )
    visits.visit_record(
        actor=cadre, household=homes[0], visited_on=day - dt.timedelta(days=1), wages="1500", notes="走访"
    )

    department_clues = list(Clue.objects.filter(department=medical).values_list("pk", flat=True))
    return {
        "/api/v1/households/": [h.pk for h in homes],
        "/api/v1/people/": list(Person.objects.values_list("pk", flat=True)),
        "/api/v1/cases/": list(MonitoringCase.objects.values_list("pk", flat=True)),
        "/api/v1/clues/": list(Clue.objects.values_list("pk", flat=True)),
        "/api/v1/alerts/": department_clues,
        "/api/v1/visits/": list(Visit.objects.values_list("pk", flat=True)),
        "/api/v1/measures/": list(AssistanceMeasure.objects.values_list("pk", flat=True)),
        "/api/v1/tasks/": list(
            AssistanceMeasure.objects.filter(department=medical).values_list("pk", flat=True)
        ),
        "steps": list(CaseStep.objects.values_list("pk", flat=True)),
        "objections": list(Objection.objects.values_list("pk", flat=True)) or [1],
        "id_numbers": list(Person.objects.values_list("id_number", flat=True)),
    }


#: The department endpoints; the rest are the staff endpoints.
DEPARTMENT_PATHS = r"^/api/v1/(alerts|tasks)/"
#: Examples per operation the caller is meant to use; the other side's operations answer 403
#: before reading any input, so a few examples each show that (in the error shape).
MAX_EXAMPLES = 15
MAX_EXAMPLES_REFUSED = 4
#: The writes whose services read most of the input get more fuzzing examples.
DEEP = {
    "department_key": ["/api/v1/alerts/", "/api/v1/tasks/{id}/complete/"],
    "staff_token": ["/api/v1/cases/{id}/actions/", "/api/v1/clues/", "/api/v1/clues/{id}/match/"],
}
MAX_EXAMPLES_DEEP = 40
#: What a schema-valid request may be answered with anywhere (a row that is not there, a role
#: that may not, a conflict, the throttle).
ACCEPTED = ["2xx", "401", "403", "404", "409", "429"]
#: The writes whose validity depends on the rows they name or on the county's rules.
STATE_DEPENDENT_WRITES = [
    "/api/v1/clues/",
    "/api/v1/clues/{id}/match/",
    "/api/v1/clues/{id}/dismiss/",
    "/api/v1/cases/{id}/actions/",
    "/api/v1/visits/",
    "/api/v1/tasks/{id}/complete/",
    "/api/v1/exports/",
]
#: Reads whose query a schema cannot fully bound: a ledger's ``as_of`` (not after today, and
#: refused as "not yet" until ledgers at a past date are available), date ranges whose end
#: precedes their start, a filter or a sort column that the asked ledger does not have: a 400
#: naming the parameter.
QUERY_DEPENDENT_READS = ["/api/v1/ledgers/", "/api/v1/ledgers/{ledger}/"]


def fuzz_config(caller: str, mode: str = "positive") -> schemathesis.Config:
    """All phases (schema examples, coverage of edge and invalid values, fuzzing) on the
    caller's own operations; fuzzing only, briefly, on the other side's."""
    refused = {
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}},
        "generation": {"max-examples": MAX_EXAMPLES_REFUSED},
    }
    if caller == "department_key":
        refused["exclude-path-regex"] = DEPARTMENT_PATHS
    else:
        refused["include-path-regex"] = DEPARTMENT_PATHS
    deep = {
        "include-method": "POST",
        "include-path": DEEP[caller],
        "generation": {"max-examples": MAX_EXAMPLES_DEEP},
    }
    # Writes whose answer depends on the rows they name or on the county's rules (the household
    # must exist, the step must belong to the case, a date may not precede the clue's, "other"
    # needs a note): schema-valid input may be refused there, with a 400 naming the field.
    stateful = {
        "include-method": "POST",
        "include-path": STATE_DEPENDENT_WRITES,
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
    }
    ledger_reads = {
        "include-method": "GET",
        "include-path": QUERY_DEPENDENT_READS,
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
    }
    return schemathesis.Config.from_dict(
        {
            "seed": 20260301,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "mode": mode,
            },
            # methods a path does not offer: answered 405 (or 403) in the error shape; three suffice
            "phases": {"coverage": {"unexpected-methods": ["DELETE", "PATCH", "OPTIONS"]}},
            "operations": [refused, deep, stateful, ledger_reads],
        }
    )


@pytest.fixture(params=["department_key", "staff_token"])
def caller(request, areas, cadre, township_reviewer, county_approver, settings, monkeypatch):
    """Who calls (its headers), the real ids of the rows, and a turn counter for :func:`_real_id`."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": UNLIMITED}
    # The throttles read their rates once, at import: raise them where they are read.
    monkeypatch.setattr(KeyRateThrottle, "THROTTLE_RATES", UNLIMITED)
    monkeypatch.setattr(StaffRateThrottle, "THROTTLE_RATES", UNLIMITED)
    cache.clear()
    medical = Department.objects.get(code="medical_insurance")
    key, raw = api_key_issue(
        actor=None, department=medical, name="医保局测试", scopes=list(Scope.values), county=areas["county"]
    )
    ids = _build_world(areas, cadre, township_reviewer, county_approver, medical, key.user)
    if request.param == "department_key":
        headers = {"Authorization": f"Api-Key {raw}"}
    else:
        headers = {"Authorization": f"Token {token_issue(actor=county_approver, name='fuzz')[1]}"}
    return {"name": request.param, "headers": headers, "ids": ids, "turn": itertools.count()}


@pytest.fixture
def _keep_the_test_transaction():
    """The WSGI handler closes "old" connections when a request starts and ends; inside the
    test's transaction (autocommit off) that closes PostgreSQL's connection, and the test's
    data with it. Django's test client unhooks the same handler; so do we, around the run."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, _keep_the_test_transaction, caller):
    """The schema the app serves, loaded through the app itself (in-process WSGI)."""
    from config.wsgi import application

    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/", application, config=fuzz_config(caller["name"])
    )
    register_plausible_bodies(schema, caller["ids"])
    return schema


@pytest.fixture
def api_schema_negative(db, _keep_the_test_transaction, caller):
    """The same schema for schema-violating requests, without the plausible-body hooks (which
    could repair the very part that was made invalid)."""
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi(
        "/api/v1/schema/", application, config=fuzz_config(caller["name"], mode="negative")
    )


# --- plausible bodies ---------------------------------------------------------------------------
#
# Bodies generated from the schema alone rarely name a real household, a step of the case or the
# keys an action's free-form ``data`` reads. In the fuzzing phase, a hook swaps some fields of a
# generated body for plausible values (real ids, recent dates, known codes), or for odd values
# where the services read them, so that the services themselves get exercised.

_json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
ODD = st.recursive(
    _json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _or_odd(strategy):
    return st.one_of(strategy, ODD)


def _recent_dates():
    return st.integers(min_value=-3, max_value=40).map(lambda n: (today() - dt.timedelta(days=n)).isoformat())


def _plan_item():
    dates = _recent_dates()
    return st.fixed_dictionaries(
        {"measure": _or_odd(st.sampled_from(["M0504", "M0101", "M0502", "M0801", "M9999"]))},
        optional={
            "department": _or_odd(st.sampled_from(["health", "medical_insurance", "", "nobody"])),
            "responsible_person": _or_odd(st.text(max_size=60)),
            "planned_start": _or_odd(dates),
            "planned_end": _or_odd(dates),
            "amount": _or_odd(st.sampled_from(["3000", "0.005", "-1", "1e30", "abc"])),
            "note": _or_odd(st.text(max_size=320)),
        },
    )


def _action_data(ids):
    dates, text = _recent_dates(), st.text(max_size=40)
    numbers = st.integers(min_value=0, max_value=12)
    item = _plan_item()
    return st.fixed_dictionaries(
        {},
        optional={
            "visited_on": _or_odd(dates),
            "visitors": _or_odd(st.lists(st.text(max_size=4), max_size=3) | st.text(max_size=10)),
            "authorization_signed": ODD,
            "findings": _or_odd(text),
            "risk_type_codes": _or_odd(st.lists(st.sampled_from(["01", "05", "99"]), max_size=3)),
            "held_on": _or_odd(dates),
            "attendees": _or_odd(numbers),
            "votes_for": _or_odd(numbers),
            "votes_against": _or_odd(numbers),
            "votes_abstain": _or_odd(numbers),
            "minutes": _or_odd(text),
            "opinion": _or_odd(text),
            "category": _or_odd(st.sampled_from(MonitoringCategory.values)),
            "explanation": _or_odd(text),
            "start_date": _or_odd(dates),
            "mode": _or_odd(st.sampled_from(ExitMode.values)),
            "override_reason": _or_odd(text),
            "raised_on": _or_odd(dates),
            "content": _or_odd(text),
            "raised_by": _or_odd(text),
            "objection": _or_odd(st.sampled_from(ids["objections"])),
            "upheld": ODD,
            "finding": _or_odd(text),
            "items": _or_odd(st.lists(item, min_size=1, max_size=3)),
            "measure": _or_odd(st.sampled_from(ids["/api/v1/measures/"])),
            "actual_date": _or_odd(dates),
            "amount": _or_odd(st.sampled_from(["2000", "0", "-5", "1e15"])),
            "note": _or_odd(st.text(max_size=1100)),
        },
    )


def coherent_actions(ids):
    """Whole action bodies whose fields fit the action (the case id still varies)."""
    dates, text = _recent_dates(), st.text(max_size=40)
    reasons = st.sampled_from(["因病致贫，先行帮扶", "材料不全，退回补充"])
    measures = st.sampled_from(ids["/api/v1/measures/"])
    return st.one_of(
        st.fixed_dictionaries(
            {
                "action": st.sampled_from(
                    ["complete", "reject", "return", "post_notice", "record_objection"]
                ),
                "step": st.sampled_from(ids["steps"]),
                "data": _action_data(ids),
                "reason": reasons,
            }
        ),
        st.fixed_dictionaries(
            {"action": st.sampled_from(["green_channel", "secure_tracking"]), "reason": reasons}
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("set_plan"),
                "data": st.fixed_dictionaries({"items": st.lists(_plan_item(), min_size=1, max_size=3)}),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.sampled_from(["measure_start", "measure_complete", "measure_stop"]),
                "reason": reasons,
                "data": st.fixed_dictionaries(
                    {"measure": measures},
                    optional={"actual_date": dates, "amount": st.sampled_from(["2000", "0"]), "note": text},
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("propose_exit"),
                "data": st.fixed_dictionaries(
                    {"mode": st.sampled_from(ExitMode.values)}, optional={"override_reason": text}
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "action": st.just("resolve_objection"),
                "data": st.fixed_dictionaries(
                    {"objection": st.sampled_from(ids["objections"]), "upheld": st.booleans()},
                    optional={"finding": text},
                ),
            }
        ),
    )


def plausible_fields(ids) -> dict[str, dict]:
    """Per operation (by path): field → a strategy of plausible (or odd) values."""
    dates = _recent_dates()
    households = st.sampled_from(ids["/api/v1/households/"])
    risks = st.sampled_from([["01"], ["05"], ["01", "05"], ["99"]])
    return {
        "/api/v1/cases/{id}/actions/": {
            "action": st.sampled_from([value for value, _label in CaseActionSerializer.ACTIONS]),
            "step": st.sampled_from(ids["steps"]),
            "data": _action_data(ids),
            "reason": st.sampled_from(["", "因病致贫，先行帮扶", "  "]),
            "expected_version": st.none(),
        },
        "/api/v1/clues/": {
            "household": households,
            "person": st.none() | st.sampled_from(ids["/api/v1/people/"]),
            "channel": st.sampled_from(["self_report", "cadre_screening"]),
            "found_date": dates,
            "risk_type_codes": risks,
        },
        "/api/v1/clues/{id}/match/": {
            "household": households,
            "person": st.none() | st.sampled_from(ids["/api/v1/people/"]),
        },
        "/api/v1/clues/{id}/dismiss/": {"reason": st.sampled_from(DismissReason.values)},
        "/api/v1/visits/": {
            "household": households,
            "visited_on": dates,
            "helper": st.none(),
            "raise_clue": st.none()
            | st.fixed_dictionaries({"risk_type_codes": risks}, optional={"description": ODD, "amount": ODD}),
        },
        "/api/v1/alerts/": {
            "external_id": st.sampled_from(["YB-1", "YB-2", "YB-FUZZ"]),
            "id_number": st.sampled_from(ids["id_numbers"]),
            "risk_type": st.sampled_from(["01", "05", "99"]),
            "found_date": dates,
        },
        "/api/v1/tasks/{id}/complete/": {
            "actual_date": dates,
            "amount": st.none() | st.sampled_from(["2000", "0.00"]),
        },
    }


def register_plausible_bodies(schema, ids) -> None:
    """Fuzzing phase: a generated object body keeps its fields, some swapped for plausible or
    odd values; a case action may instead be a whole coherent action body."""
    fields_by_path = plausible_fields(ids)
    actions = coherent_actions(ids)

    @schema.hook
    def flatmap_body(context, body):
        path = context.operation.path if context.operation else None
        fields = fields_by_path.get(path)
        if not fields or not isinstance(body, dict):
            return st.just(body)
        swapped = st.fixed_dictionaries({}, optional=fields).map(lambda swap: {**body, **swap})
        if path == "/api/v1/cases/{id}/actions/":
            return st.one_of(swapped, actions)
        return swapped


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32's lazy schema renames the test node through ``Node._nodeid``, which
    pytest 9.2 no longer has (the id lives in ``_id``): give it the attribute to read."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def _documented(case) -> set[str]:
    if case.method.upper() != case.operation.method.upper():  # a method the path does not offer
        return set()
    return set(case.operation.definition.raw.get("responses", {}))


def error_shape(ctx, response, case) -> bool | None:
    """A status the schema does not document is a 4xx, and every 4xx answer (documented or
    not) is exactly ``{"code", "message", "fields"}``."""
    if str(response.status_code) not in _documented(case):
        assert 400 <= response.status_code < 500, (
            f"{case.method} {case.path}: undocumented status {response.status_code} is not a 4xx error"
        )
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            raise AssertionError(
                f"{response.status_code} answer is not JSON: {response.text[:200]!r}"
            ) from None
        assert isinstance(body, dict) and set(body) == ERROR_KEYS, (
            f"{response.status_code} answer is not the error shape: {body!r}"
        )
        assert isinstance(body["code"], str) and isinstance(body["message"], str) and body["message"]
        assert isinstance(body["fields"], dict), body
        assert all(isinstance(v, str) for v in body["fields"].values()), body
    return None


#: The alerts' batch refusal is the error shape plus the item results (documented as such).
_BATCH_KEYS = {"created", "existing", "rejected", "results"}


def error_shape_or_batch_refusal(ctx, response, case) -> bool | None:
    if (
        case.method.upper() == "POST"
        and case.path == "/api/v1/alerts/"
        and response.status_code == 400
        and isinstance(response.json(), dict)
        and set(response.json()) == ERROR_KEYS | _BATCH_KEYS
    ):
        return None
    return error_shape(ctx, response, case)


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    error_shape_or_batch_refusal,
    status_code_conformance,
]
#: schema-valid requests: accepted (or refused for a reason the schema cannot know: a row that is
#: not there, a role, a conflict, the county's rules on the state-dependent writes)
CHECKS_POSITIVE = [*CHECKS, positive_data_acceptance]
#: schema-violating requests: refused, with a documented status in the error shape
CHECKS_NEGATIVE = [*CHECKS, negative_data_rejection]


def _real_id(case, caller, *, only_if_integer: bool = False) -> None:
    """Every other case with an ``{id}`` asks for a real row of that resource.

    A NUL in the URL path is left out: the API answers 404, but the call log's INSERT of the
    path (``accounts/api_auth.ApiCallLogMiddleware``) fails on PostgreSQL, which outside a
    transaction only loses that log row but inside the test's transaction aborts it.
    """
    if "id" not in (case.path_parameters or {}):
        return
    if isinstance(case.path_parameters["id"], str) and "\x00" in case.path_parameters["id"]:
        case.path_parameters["id"] = case.path_parameters["id"].replace("\x00", "")
    if only_if_integer and not isinstance(case.path_parameters["id"], int):
        return  # the id itself is what was made invalid
    turn = next(caller["turn"])
    if turn % 2:
        return
    prefix = case.path.split("{id}")[0]
    rows = caller["ids"].get(prefix)
    if rows:
        case.path_parameters["id"] = rows[(turn // 2) % len(rows)]


@schema.parametrize()
@hypothesis_settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
    database=None,
)
def test_api_conforms_to_its_schema(case, caller):
    _real_id(case, caller)
    case.call_and_validate(headers=caller["headers"], checks=CHECKS_POSITIVE)


negative_schema = schemathesis.pytest.from_fixture("api_schema_negative")


@negative_schema.parametrize()
@hypothesis_settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
    database=None,
)
def test_api_refuses_what_its_schema_refuses(case, caller):
    _real_id(case, caller, only_if_integer=True)
    case.call_and_validate(headers=caller["headers"], checks=CHECKS_NEGATIVE)


# --- the services behind the API take odd input as field errors --------------------------------
#
# The API's serializers shape most input before a service sees it, but ``complete`` hands the
# step rules the raw ``data``, and the pages call the same services: odd values must come back
# as field errors, never as a crash (or, on PostgreSQL, as a NUL the database refuses).

ODD_STEP_DATA = [
    (StepKind.HOME_VERIFICATION, {"visitors": 5}, "visitors"),
    (StepKind.HOME_VERIFICATION, {"visitors": {"张三": 1}}, "visitors"),
    (StepKind.HOME_VERIFICATION, {"visitors": ["张三", None]}, "visitors"),
    (StepKind.HOME_VERIFICATION, {"visitors": ["张三\x00"]}, "visitors"),
    (StepKind.HOME_VERIFICATION, {"visitors": ["张三"], "risk_type_codes": 1}, "risk_type_codes"),
    (StepKind.HOME_VERIFICATION, {"visitors": ["张三"], "findings": {"a": 1}}, "findings"),
    (StepKind.DATA_COMPARISON, {"findings": "比对\x00无异常"}, "findings"),
    (StepKind.VILLAGE_REVIEW, {"attendees": float("inf")}, "attendees"),
    (StepKind.TOWNSHIP_REVIEW, {"opinion": ["同意"]}, "opinion"),
]


@pytest.mark.parametrize(("kind", "data", "field"), ODD_STEP_DATA)
def test_step_rules_refuse_odd_values_with_a_field_error(kind, data, field):
    base = {"visited_on": today().isoformat(), "authorization_signed": True, "findings": "属实"}
    _clean, errors = validate_step_data(
        kind, {**base, **data}, procedure_kind="identification", today=today()
    )
    assert field in errors


def test_step_rules_still_take_names_as_a_list_or_with_commas():
    for visitors in (["张三", " 李四 "], "张三，李四", "张三, 李四"):
        clean, errors = validate_step_data(
            StepKind.HOME_VERIFICATION,
            {
                "visited_on": today().isoformat(),
                "visitors": visitors,
                "authorization_signed": True,
                "findings": "属实",
                "listen": "收入稳定",
                "assess": "同意",
                "look": "住房安全",
            },
            procedure_kind="exit",
            today=today(),
            photos=1,
            income={"year": 2025, "per_capita": "12000.00"},
        )
        assert errors == {} and clean["visitors"] == ["张三", "李四"]


@pytest.mark.parametrize("field", ["responsible_person", "note"])
@pytest.mark.parametrize("value", [{"name": "王"}, ["王"], True, "王\x00"])
def test_a_plan_item_with_odd_text_is_a_field_error(field, value, areas, county_approver):
    case = mf.case(hf.household(areas["v11"], members=1), identified_on=today() - dt.timedelta(days=10))
    with pytest.raises(DjangoValidationError) as refused:
        assistance.plan_set(
            actor=county_approver, case=case, items=[{"measure": "M0504", field: value}, {"measure": "M0101"}]
        )
    assert f"items-0-{field}" in refused.value.message_dict
    assert not AssistanceMeasure.objects.filter(case=case).exists()


def test_a_plan_item_may_give_a_number_as_its_text(areas, county_approver):
    case = mf.case(hf.household(areas["v11"], members=1), identified_on=today() - dt.timedelta(days=10))
    (row, _other) = assistance.plan_set(
        actor=county_approver,
        case=case,
        items=[{"measure": "M0504", "responsible_person": 12, "note": 3.5}, {"measure": "M0101"}],
    )
    assert (row.responsible_person, row.note) == ("12", "3.5")


@pytest.mark.parametrize(
    "raise_clue",
    [{"risk_type_codes": 5}, {"risk_type_codes": [1]}, {"risk_type_codes": ["01"], "description": ["x"]}],
)
def test_a_visit_with_an_odd_clue_is_a_field_error(raise_clue):
    errors: dict = {}
    assert visits._check_clue(raise_clue, errors) is None
    assert errors


@pytest.mark.parametrize("field", ["external_id", "name", "description"])
def test_an_alert_with_a_nul_character_is_rejected_not_a_database_error(field, db):
    codes = RiskCodes.load()
    item = {
        "external_id": "YB-NUL",
        "id_number": hf.id_number(),
        "name": "张三",
        "risk_type": "01",
        "found_date": today().isoformat(),
        field: "a\x00b",
    }
    _external_id, clean, errors = clean_alert(item, codes=codes, today=today())
    assert clean is None and field in errors


# --- stateful: sequences that follow the links between operations ------------------------------
#
# The links schemathesis infers from the schema (a list's ids into a retrieve and its actions, a
# created row into what reads it): each step is checked as above, so a sequence that reaches a
# state no single call does (an action on a row just created) must still answer as documented.

STATEFUL_SETTINGS = hypothesis_settings(
    max_examples=12,
    stateful_step_count=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_api_conforms_over_sequences_of_calls(api_schema, caller):
    headers = caller["headers"]

    class Sequences(api_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS_POSITIVE, transport_kwargs=kwargs)

    before = ApiCallLog.objects.count()
    Sequences.run(settings=STATEFUL_SETTINGS)
    # the sequences really ran: at least one call per example, most several
    assert ApiCallLog.objects.count() - before >= STATEFUL_SETTINGS.max_examples
