"""Department API keys: scopes, expiry, revocation, IP allowlist, throttling, the call log,
the management command that prints a key once, and the admin that issues and revokes them."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api_auth import KeyRateThrottle
from accounts.models import ApiCallLog, DepartmentAPIKey, Role, Scope, User
from accounts.services import api_key_revoke
from tests.accounts import factories as af
from tests.api.conftest import key_client
from tests.api.test_department_api import TASKS, URL, alert, assert_error_shape

# (method, path, the scope it needs); ``{task}`` is a task id of the department.
CALLS = [
    ("get", URL, Scope.ALERTS_READ),
    ("get", URL + "{alert}/", Scope.ALERTS_READ),
    ("post", URL, Scope.ALERTS_WRITE),
    ("get", TASKS, Scope.TASKS_READ),
    ("get", TASKS + "{task}/", Scope.TASKS_READ),
    ("post", TASKS + "{task}/start/", Scope.TASKS_WRITE),
    ("post", TASKS + "{task}/complete/", Scope.TASKS_WRITE),
]


@pytest.fixture
def task(hh, medical):
    from monitoring.models import AssistanceMeasure, CaseStatus
    from tests.monitoring import factories as mf

    case = mf.case(hh, status=CaseStatus.MONITORED, identified_on=timezone.localdate())
    return AssistanceMeasure.objects.create(case=case, measure=mf.measure("M0502"), department=medical)


def _call(client, method, path, *, alert_id=0, task_id=0):
    path = path.format(alert=alert_id, task=task_id)
    if method == "post":
        body = alert() if path == URL else {"actual_date": timezone.localdate().isoformat()}
        return client.post(path, body, format="json")
    return client.get(path)


@pytest.mark.parametrize(("method", "path", "scope"), CALLS, ids=[f"{m} {p} {s}" for m, p, s in CALLS])
def test_each_endpoint_needs_its_scope(issue, medical, api, task, method, path, scope):
    alert_id = api.post(URL, alert(), format="json").json()["id"]
    _key, raw = issue(medical, scopes=[s for s in Scope.values if s != scope])
    body = assert_error_shape(_call(key_client(raw), method, path, alert_id=alert_id, task_id=task.pk), 403)
    assert body["code"] == "permission_denied"
    assert body["message"] == "此接口密钥没有所需的权限范围。"

    _key, raw = issue(medical, scopes=[scope])
    response = _call(key_client(raw), method, path, alert_id=alert_id, task_id=task.pk)
    assert response.status_code in (200, 201), response.content


def test_a_read_only_key_cannot_push(issue, medical):
    _key, raw = issue(medical, scopes=[Scope.ALERTS_READ])
    client = key_client(raw)
    assert client.get(URL).status_code == 200
    assert_error_shape(client.post(URL, alert(), format="json"), 403, "permission_denied")
    assert_error_shape(client.get(TASKS), 403, "permission_denied")


def test_an_expired_key_is_401(issue, medical):
    _key, raw = issue(medical, expires_at=timezone.now() - dt.timedelta(minutes=1))
    body = assert_error_shape(key_client(raw).get(URL), 401, "authentication_failed")
    assert body["message"] == "接口密钥已过期。"


def test_a_key_that_has_not_expired_yet_works(issue, medical):
    _key, raw = issue(medical, expires_at=timezone.now() + dt.timedelta(days=1))
    assert key_client(raw).get(URL).status_code == 200


def test_a_revoked_key_is_401(medical_key, api, operator):
    assert api.get(URL).status_code == 200
    api_key_revoke(actor=operator, key=medical_key[0])
    body = assert_error_shape(api.get(URL), 401, "authentication_failed")
    assert body["message"] == "接口密钥无效或已吊销。"


@pytest.mark.parametrize(
    "header",
    ["Api-Key ", "Api-Key nonsense", "Api-Key abc.def", "Api-Key " + "x" * 5000, "Api-Key 日本語"],
    ids=["empty", "no-dot", "unknown-prefix", "huge", "non-ascii"],
)
def test_an_unknown_key_is_401(db, header):
    client = APIClient()
    response = client.get(URL, HTTP_AUTHORIZATION=header.encode().decode("latin-1"))
    assert_error_shape(response, 401)


def test_a_wrong_secret_with_a_real_prefix_is_401(medical_key):
    key, raw = medical_key
    assert_error_shape(key_client(key.prefix + ".wrongsecret").get(URL), 401, "authentication_failed")


def test_the_secret_is_stored_hashed(medical_key):
    key, raw = medical_key
    secret = raw.partition(".")[2]
    key.refresh_from_db()
    assert key.prefix == raw.partition(".")[0]
    assert secret not in key.hashed_key and secret not in key.pk


def test_the_ip_allowlist(issue, medical):
    _key, raw = issue(medical, ip_allowlist="10.0.0.0/24\n192.168.1.9")
    assert key_client(raw, REMOTE_ADDR="10.0.0.77").get(URL).status_code == 200
    assert key_client(raw, REMOTE_ADDR="192.168.1.9").get(URL).status_code == 200
    body = assert_error_shape(key_client(raw, REMOTE_ADDR="10.0.1.1").get(URL), 401, "authentication_failed")
    assert body["message"] == "该IP地址不在此密钥的白名单内。"


def test_a_deactivated_service_account_is_401(medical_key, api):
    user = medical_key[0].user
    user.is_active = False
    user.save()
    assert_error_shape(api.get(URL), 401, "authentication_failed")


def test_every_call_is_logged(medical_key, api, issue, medical):
    key = medical_key[0]
    api.get(URL)
    api.post(URL, alert(), format="json")
    api.post(URL, "{broken", content_type="application/json")
    api.get(URL + "999999/")
    _other, read_only = issue(medical, scopes=[Scope.ALERTS_READ])
    key_client(read_only).post(URL, alert(), format="json")
    APIClient().get(URL, HTTP_AUTHORIZATION="Api-Key nope.nope")

    logs = list(ApiCallLog.objects.order_by("pk"))
    assert [(log.method, log.path, log.status) for log in logs] == [
        ("GET", URL, 200),
        ("POST", URL, 201),
        ("POST", URL, 400),
        ("GET", URL + "999999/", 404),
        ("POST", URL, 403),
        ("GET", URL, 401),
    ]
    assert [log.api_key_id for log in logs[:4]] == [key.pk] * 4
    assert logs[4].api_key_id == _other.pk
    assert logs[5].api_key_id is None and logs[5].user_id is None
    assert all(log.user_id == key.user_id for log in logs[:5])
    assert all(log.duration_ms >= 0 and log.ip == "127.0.0.1" and log.at for log in logs)
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_keys_are_throttled_one_by_one(api, civil_api, monkeypatch):
    monkeypatch.setattr(KeyRateThrottle, "rate", "3/min", raising=False)
    for _ in range(3):
        assert api.get(URL).status_code == 200
    body = assert_error_shape(api.get(URL), 429, "throttled")
    assert body["message"]
    assert civil_api.get(URL).status_code == 200  # another key has its own budget


# --- the management command -------------------------------------------------------------------


def test_the_command_prints_a_working_key_once(areas, hh):
    out = io.StringIO()
    call_command("issue_api_key", "medical_insurance", "--county", areas["county"].code, stdout=out)
    lines = out.getvalue().strip().splitlines()
    raw = lines[-1]
    assert "medical_insurance" in lines[0]
    key = DepartmentAPIKey.objects.get()
    assert raw.startswith(key.prefix + ".")
    assert raw.partition(".")[2] not in key.hashed_key
    client = key_client(raw)
    created = client.post(URL, alert(id_number=hh.head.id_number), format="json")
    assert created.status_code == 201, created.content
    assert client.get(URL).json()["count"] == 1

    out = io.StringIO()
    call_command("issue_api_key", "--revoke", key.prefix, stdout=out)
    assert "revoked" in out.getvalue()
    assert_error_shape(client.get(URL), 401)


def test_the_command_limits_scopes_and_refuses_unknown_departments(areas):
    out = io.StringIO()
    call_command(
        "issue_api_key",
        "medical_insurance",
        "--scopes",
        "alerts:read",
        "--county",
        areas["county"].code,
        stdout=out,
    )
    client = key_client(out.getvalue().strip().splitlines()[-1])
    assert client.get(URL).status_code == 200
    assert_error_shape(client.post(URL, alert(), format="json"), 403)
    with pytest.raises(CommandError):
        call_command("issue_api_key", "no_such_department", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("issue_api_key", "medical_insurance", "--scopes", "alerts:delete", stdout=io.StringIO())


# --- the admin ----------------------------------------------------------------------------------


def _admin_url(model, view, *args):
    return reverse(f"admin:accounts_{model._meta.model_name}_{view}", args=args)


def test_an_operator_issues_a_key_in_the_admin_and_sees_it_once(client, operator, areas, medical, hh):
    client.force_login(operator)
    assert client.get(_admin_url(DepartmentAPIKey, "add")).status_code == 200
    response = client.post(
        _admin_url(DepartmentAPIKey, "add"),
        {
            "department": medical.pk,
            "name": "医保局推送",
            "county": areas["county"].pk,
            "scopes": [Scope.ALERTS_WRITE, Scope.ALERTS_READ],
            "expiry_date_0": "",
            "expiry_date_1": "",
            "ip_allowlist": "127.0.0.1\n10.0.0.0/8",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    key = DepartmentAPIKey.objects.get()
    assert key.department == medical and sorted(key.scopes) == ["alerts:read", "alerts:write"]
    assert key.user.role == Role.DEPARTMENT and list(key.user.areas.all()) == [areas["county"]]
    (message,) = [str(m) for m in get_messages(response.wsgi_request) if "只显示这一次" in str(m)]
    raw = message.rsplit("：", 1)[1].strip()
    assert raw.startswith(key.prefix + ".")
    assert key_client(raw).post(URL, alert(id_number=hh.head.id_number), format="json").status_code == 201

    # the page after the redirect shows the secret once; afterwards it is nowhere
    shown = client.get(response["Location"]).content.decode()
    assert raw in shown
    page = client.get(_admin_url(DepartmentAPIKey, "change", key.pk)).content.decode()
    assert key.prefix in page and raw.partition(".")[2] not in page
    changelist = client.get(_admin_url(DepartmentAPIKey, "changelist")).content.decode()
    assert raw.partition(".")[2] not in changelist


@pytest.mark.parametrize(
    ("field", "value"),
    [("ip_allowlist", "10.0.0.0/33"), ("scopes", []), ("name", ""), ("expiry_date_0", "2001-01-01")],
)
def test_the_admin_form_refuses_bad_input(client, operator, areas, medical, field, value):
    client.force_login(operator)
    data = {
        "department": medical.pk,
        "name": "x",
        "county": areas["county"].pk,
        "scopes": [Scope.ALERTS_READ],
        "expiry_date_0": "",
        "expiry_date_1": "",
        "ip_allowlist": "",
    }
    data[field] = value
    if field == "expiry_date_0":
        data["expiry_date_1"] = "10:00:00"
    response = client.post(_admin_url(DepartmentAPIKey, "add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not DepartmentAPIKey.objects.exists()


def test_an_operator_revokes_keys_with_the_admin_action(client, operator, medical_key, api):
    client.force_login(operator)
    response = client.post(
        _admin_url(DepartmentAPIKey, "changelist"),
        {"action": "revoke", "_selected_action": [medical_key[0].pk]},
    )
    assert response.status_code == 302
    medical_key[0].refresh_from_db()
    assert medical_key[0].revoked
    assert_error_shape(api.get(URL), 401)


def test_keys_cannot_be_edited_or_deleted_in_the_admin(client, operator, medical_key):
    key = medical_key[0]
    client.force_login(operator)
    url = _admin_url(DepartmentAPIKey, "change", key.pk)
    response = client.post(url, {"name": "changed", "scopes": ["tasks:write"]})
    assert response.status_code == 403
    assert client.post(_admin_url(DepartmentAPIKey, "delete", key.pk), {"post": "yes"}).status_code == 403
    key.refresh_from_db()
    assert key.name != "changed" and not key.revoked


def test_the_call_log_is_read_only(client, operator, api):
    api.get(URL)
    log = ApiCallLog.objects.get()
    client.force_login(operator)
    page = client.get(_admin_url(ApiCallLog, "changelist"))
    assert page.status_code == 200 and URL in page.content.decode()
    assert client.get(_admin_url(ApiCallLog, "change", log.pk)).status_code == 200
    assert client.get(_admin_url(ApiCallLog, "add")).status_code == 403
    assert client.post(_admin_url(ApiCallLog, "change", log.pk), {"status": 500}).status_code == 403
    assert client.post(_admin_url(ApiCallLog, "delete", log.pk), {"post": "yes"}).status_code == 403
    log.refresh_from_db()
    assert log.status == 200


@pytest.mark.parametrize("role", [Role.COUNTY_APPROVER, Role.VILLAGE_CADRE])
def test_only_operators_see_keys_and_calls(client, areas, medical_key, role):
    client.force_login(af.user(role, areas["county"] if role == Role.COUNTY_APPROVER else areas["v11"]))
    # not operators: no admin at all (sent to the admin's sign-in)
    for url in (_admin_url(DepartmentAPIKey, "changelist"), _admin_url(ApiCallLog, "changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_an_operator_of_another_county_does_not_see_the_keys(client, areas, medical_key):
    other = af.area("130728000000", "怀安县", "county", areas["city"])
    client.force_login(af.user(Role.OPERATOR, other, username="op2"))
    page = client.get(_admin_url(DepartmentAPIKey, "changelist"))
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == []
    assert client.get(_admin_url(DepartmentAPIKey, "change", medical_key[0].pk)).status_code == 302


def test_a_superuser_opens_every_key_and_log_page(client, medical_key, api):
    api.get(URL)
    root = User.objects.create_superuser("root", "root@example.org", "pass-12345")
    client.force_login(root)
    for model in (DepartmentAPIKey, ApiCallLog):
        obj = model.objects.first()
        for view, args in (("changelist", ()), ("change", (obj.pk,)), ("history", (obj.pk,))):
            assert client.get(_admin_url(model, view, *args)).status_code == 200, (model, view)
    assert client.get(_admin_url(DepartmentAPIKey, "add")).status_code == 200
