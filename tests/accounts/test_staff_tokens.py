"""Staff API tokens expire, rotate and revoke; their owner sees and manages only their own;
every use is logged, and sign-ins, failures, lockouts, token changes and exports leave a
security event."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import ApiCallLog, Role, SecurityEvent, SecurityEventKind, StaffToken
from accounts.tokens import token_issue, token_revoke, token_rotate
from tests.accounts import factories as af

LIST = "/api/v1/households/"
TOKENS = "/api/v1/tokens/"
PAGE = "/account/tokens/"


def with_token(raw: str, address: str = "10.2.3.4") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def kinds(**filters) -> list[str]:
    return list(SecurityEvent.objects.filter(**filters).order_by("id").values_list("kind", flat=True))


# --- issuing --------------------------------------------------------------------------------


def test_a_new_token_expires_after_the_default_days_and_only_its_hash_is_kept(settings, cadre):
    settings.STAFF_TOKEN_DAYS = 90
    before = timezone.now()
    token, raw = token_issue(actor=cadre, name="统计脚本")
    assert raw.startswith(token.prefix + ".") and raw not in (token.hashed_key, token.pk)
    assert before + dt.timedelta(days=90) <= token.expiry_date <= timezone.now() + dt.timedelta(days=90)
    assert token.state == "active"
    event = SecurityEvent.objects.get(kind=SecurityEventKind.TOKEN_CREATED)
    assert event.user == cadre and event.detail == {"token": token.prefix, "name": "统计脚本", "days": 90}
    assert raw not in str(event.detail)


@pytest.mark.parametrize("days", [0, -1, 366, "many"])
def test_a_lifetime_outside_the_limit_is_refused_with_the_name_checked_too(cadre, days):
    with pytest.raises(ValidationError) as caught:
        token_issue(actor=cadre, name="", days=days)
    assert set(caught.value.message_dict) == {"name", "days"}
    assert not StaffToken.objects.exists()


def test_one_person_holds_a_bounded_number_of_live_tokens(settings, cadre):
    settings.STAFF_TOKEN_MAX_ACTIVE = 2
    first, _ = token_issue(actor=cadre, name="a")
    token_issue(actor=cadre, name="b")
    with pytest.raises(InvalidTransition):
        token_issue(actor=cadre, name="c")
    token_revoke(actor=cadre, token=first)
    token_issue(actor=cadre, name="c")  # a revoked one no longer counts
    assert StaffToken.objects.filter(user=cadre, revoked=False).count() == 2


def test_a_department_account_uses_department_keys_not_tokens(areas):
    dept_user = af.user(Role.DEPARTMENT, areas["county"])
    with pytest.raises(NotAllowed):
        token_issue(actor=dept_user, name="x")


# --- using ----------------------------------------------------------------------------------


def test_a_token_signs_in_its_owner_and_each_call_is_logged_with_it(cadre):
    token, raw = token_issue(actor=cadre, name="脚本")
    response = with_token(raw).get(LIST)
    assert response.status_code == 200
    call = ApiCallLog.objects.get(path=LIST)
    assert call.staff_token_id == token.pk and call.user == cadre and call.status == 200
    token.refresh_from_db()
    assert token.last_used_ip == "10.2.3.4" and token.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute_from_one_address(cadre, django_assert_max_num_queries):
    token, raw = token_issue(actor=cadre, name="脚本")
    client = with_token(raw)
    client.get(TOKENS)
    stamp = StaffToken.objects.get(pk=token.pk).last_used_at
    client.get(TOKENS)
    assert StaffToken.objects.get(pk=token.pk).last_used_at == stamp
    StaffToken.objects.filter(pk=token.pk).update(last_used_at=stamp - dt.timedelta(seconds=61))
    client.get(TOKENS)
    assert StaffToken.objects.get(pk=token.pk).last_used_at > stamp


@pytest.mark.parametrize("how", ["expired", "revoked", "inactive", "wrong secret", "unknown"])
def test_a_dead_token_is_refused_with_a_reason_and_the_refusal_is_on_record(cadre, how):
    token, raw = token_issue(actor=cadre, name="脚本")
    if how == "expired":
        StaffToken.objects.filter(pk=token.pk).update(expiry_date=timezone.now() - dt.timedelta(seconds=1))
    elif how == "revoked":
        token_revoke(actor=cadre, token=token)
    elif how == "inactive":
        cadre.is_active = False
        cadre.save(update_fields=["is_active"])
    elif how == "wrong secret":
        raw = raw[:-2] + ("xx" if not raw.endswith("xx") else "yy")
    else:
        raw = "nobody00.secret"
    response = with_token(raw).get(LIST)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication_failed"
    expected = {
        "expired": "令牌已过期",
        "revoked": "令牌已吊销",
        "inactive": "账号已停用",
        "wrong secret": "令牌无效",
        "unknown": "令牌无效",
    }[how]
    assert expected in body["message"]
    assert response["WWW-Authenticate"] == "Token"
    refused = SecurityEvent.objects.filter(kind=SecurityEventKind.TOKEN_REFUSED)
    if how in {"expired", "revoked", "inactive"}:
        assert refused.get().detail == {"token": token.prefix, "reason": how}
    else:
        assert not refused.exists()


def test_the_refusal_is_in_english_for_an_english_caller(cadre):
    token, raw = token_issue(actor=cadre, name="脚本")
    StaffToken.objects.filter(pk=token.pk).update(expiry_date=timezone.now() - dt.timedelta(days=1))
    response = with_token(raw).get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401 and "expired" in response.json()["message"]


# --- rotation and revocation ----------------------------------------------------------------


def test_rotation_stops_the_old_token_now_and_the_new_one_keeps_the_name_and_lifetime(cadre):
    old, old_raw = token_issue(actor=cadre, name="乡镇电脑", days=30)
    new, new_raw = token_rotate(actor=cadre, token=old)
    old.refresh_from_db()
    assert old.revoked and old.revoked_at is not None
    assert new.name == "乡镇电脑" and new.rotated_from == old.prefix
    assert abs((new.expiry_date - new.created) - dt.timedelta(days=30)) < dt.timedelta(seconds=5)
    assert with_token(old_raw).get(LIST).status_code == 401
    assert with_token(new_raw).get(LIST).status_code == 200
    assert kinds(user=cadre) == ["token_created", "token_rotated", "token_refused"]
    rotated = SecurityEvent.objects.get(kind=SecurityEventKind.TOKEN_ROTATED)
    assert rotated.detail == {"token": new.prefix, "replaced": old.prefix}


def test_a_revoked_or_expired_token_cannot_be_rotated_or_revoked_again(cadre):
    token, _ = token_issue(actor=cadre, name="a")
    token_revoke(actor=cadre, token=token)
    with pytest.raises(InvalidTransition):
        token_rotate(actor=cadre, token=token)
    with pytest.raises(InvalidTransition):
        token_revoke(actor=cadre, token=token)


def test_nobody_manages_another_persons_token_but_an_operator_of_their_area_may_revoke(
    cadre, township_reviewer, operator
):
    token, _ = token_issue(actor=cadre, name="a")
    with pytest.raises(NotAllowed):
        token_revoke(actor=township_reviewer, token=token)
    with pytest.raises(NotAllowed):
        token_rotate(actor=operator, token=token)
    token_revoke(actor=operator, token=token)
    event = SecurityEvent.objects.get(kind=SecurityEventKind.TOKEN_REVOKED)
    assert event.user == cadre and event.detail == {"token": token.prefix, "by": operator.username}


# --- the API --------------------------------------------------------------------------------


def test_the_api_lists_only_the_callers_tokens_and_never_a_secret_or_hash(cadre, township_reviewer):
    mine, raw = token_issue(actor=cadre, name="mine")
    theirs, _ = token_issue(actor=township_reviewer, name="theirs")
    client = with_token(raw)
    rows = client.get(TOKENS).json()["results"]
    assert [r["prefix"] for r in rows] == [mine.prefix]
    assert set(rows[0]) == {
        "prefix",
        "name",
        "state",
        "created",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
        "rotated_from",
    }
    assert client.get(f"{TOKENS}{theirs.prefix}/").status_code == 404
    assert client.post(f"{TOKENS}{theirs.prefix}/revoke/").status_code == 404
    assert not StaffToken.objects.get(pk=theirs.pk).revoked


def test_creating_and_rotating_need_a_session_and_revoking_works_with_the_token_itself(cadre):
    _, raw = token_issue(actor=cadre, name="script")
    by_token = with_token(raw)
    refused = by_token.post(TOKENS, {"name": "more"}, format="json")
    assert refused.status_code == 403 and "登录会话" in refused.json()["message"]
    session = APIClient()
    session.force_login(cadre)
    created = session.post(TOKENS, {"name": "报表脚本", "days": 7}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["state"] == "active" and body["key"].startswith(body["prefix"] + ".")
    assert with_token(body["key"]).get(LIST).status_code == 200
    assert session.get(f"{TOKENS}{body['prefix']}/").json().get("key") is None
    rotated = session.post(f"{TOKENS}{body['prefix']}/rotate/", {}, format="json")
    assert rotated.status_code == 201 and rotated.json()["rotated_from"] == body["prefix"]
    assert with_token(body["key"]).get(LIST).status_code == 401
    new = rotated.json()
    revoked = with_token(new["key"]).post(f"{TOKENS}{new['prefix']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert with_token(new["key"]).get(LIST).status_code == 401


def test_bad_input_to_the_api_is_a_400_in_the_error_shape(cadre):
    session = APIClient()
    session.force_login(cadre)
    response = session.post(TOKENS, {"name": "", "days": 0}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"name", "days"}


# --- the page -------------------------------------------------------------------------------


def test_the_page_creates_a_token_shows_it_once_and_revokes_it(client, cadre):
    client.force_login(cadre)
    page = client.get(PAGE)
    assert page.status_code == 200 and "您还没有接口令牌" in page.content.decode()
    token_field = page.context["form"]["token"].value()
    created = client.post(PAGE, {"name": "乡镇电脑", "days": 30, "token": token_field})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    key = created.context["issued"]["key"]
    assert key in created.content.decode()
    token = StaffToken.objects.get(user=cadre)
    # the same form sent again does not make a second token, and the key is not shown again
    again = client.post(PAGE, {"name": "乡镇电脑", "days": 30, "token": token_field})
    assert again.status_code == 302 and StaffToken.objects.filter(user=cadre).count() == 1
    listing = client.get(PAGE).content.decode()
    assert key not in listing and token.prefix in listing
    row = next(r for r in client.get(PAGE).context["rows"] if r["token"].pk == token.pk)
    once = dict((a, t) for a, _label, t in row["actions"])["revoke"]
    done = client.post("/account/tokens/act/", {"which": token.prefix, "action": "revoke", "token": once})
    assert done.status_code == 302
    assert StaffToken.objects.get(pk=token.pk).revoked


def test_the_page_keeps_what_was_typed_and_names_every_problem(client, cadre):
    client.force_login(cadre)
    response = client.post(PAGE, {"name": "x" * 51, "days": 999})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"name", "days"}
    assert 'value="999"' in response.content.decode()


def test_the_page_cannot_touch_another_persons_token(client, cadre, township_reviewer):
    token, _ = token_issue(actor=township_reviewer, name="theirs")
    client.force_login(cadre)
    response = client.post("/account/tokens/act/", {"which": token.prefix, "action": "revoke"}, follow=True)
    assert "未找到该令牌" in response.content.decode()
    assert not StaffToken.objects.get(pk=token.pk).revoked


def test_the_page_in_english(client, cadre):
    client.force_login(cadre)
    client.cookies["django_language"] = "en"
    body = client.get(PAGE).content.decode()
    assert "My API tokens" in body and "我的接口令牌" not in body


# --- the security log -----------------------------------------------------------------------


def test_sign_in_failure_lockout_unlock_and_sign_out_are_on_record(areas, operator):
    from accounts.lockout import user_unlock

    user = af.user(Role.VILLAGE_CADRE, areas["v11"], username="logme")
    user.set_password("correct-horse-42")
    user.save()
    browser = Client(REMOTE_ADDR="10.7.7.7")
    browser.post("/accounts/login/", {"username": "logme", "password": "wrong"})
    assert SecurityEvent.objects.get(kind="login_failed").username == "logme"
    for n in range(4):
        browser.post("/accounts/login/", {"username": "logme", "password": f"wrong{n}"})
    assert SecurityEvent.objects.filter(kind="locked_out", username="logme").exists()
    user_unlock(actor=operator, user=user)
    unlocked = SecurityEvent.objects.get(kind="unlocked")
    assert unlocked.user == user and unlocked.detail["by"] == operator.username
    assert (
        browser.post("/accounts/login/", {"username": "logme", "password": "correct-horse-42"}).status_code
        == 302
    )
    login = SecurityEvent.objects.get(kind="login")
    assert login.user == user and login.ip == "10.7.7.7"
    browser.post("/accounts/logout/")
    assert SecurityEvent.objects.filter(kind="logout", user=user).exists()


def test_an_export_is_on_record(client, county_approver):
    client.force_login(county_approver)
    response = client.get("/reports/counts.xlsx")
    assert response.status_code == 200
    event = SecurityEvent.objects.get(kind=SecurityEventKind.EXPORT)
    assert event.user == county_approver and event.detail["export"] == "ledger_counts"
