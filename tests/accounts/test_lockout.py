"""Password guessing: the sign-in locks an account, and an address, after a few failures, with a
clear message in the person's language; an operator can lift it; every attempt is on record."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.errors import NotAllowed
from accounts.lockout import user_unlock
from accounts.models import Role
from tests.accounts import factories as af

PASSWORD = "correct-horse-42"
LOGIN = "/accounts/login/"


@pytest.fixture
def cadre_login(areas):
    user = af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(username, password, *, address="10.1.1.1", language="zh-hans"):
    client = Client(REMOTE_ADDR=address)
    client.cookies["django_language"] = language
    return client.post(LOGIN, {"username": username, "password": password})


def test_thirty_wrong_passwords_then_the_right_one_is_refused(settings, cadre_login):
    assert settings.AXES_FAILURE_LIMIT == 5
    statuses = [sign_in("cadre", f"guess-{n}").status_code for n in range(30)]
    assert statuses[:4] == [200] * 4  # the form again, with its error
    assert set(statuses[4:]) == {429}  # the fifth failure locks
    response = sign_in("cadre", PASSWORD)
    assert response.status_code == 429
    body = response.content.decode()
    assert "登录已暂时锁定" in body and "连续5次密码错误" in body and "15分钟后再试" in body
    assert "_auth_user_id" not in response.wsgi_request.session
    english = sign_in("cadre", PASSWORD, language="en").content.decode()
    assert "Sign-in temporarily locked" in english and "15 minutes" in english


def test_the_lockout_ends_after_the_cool_off(cadre_login):
    for n in range(5):
        sign_in("cadre", f"guess-{n}")
    assert sign_in("cadre", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    response = sign_in("cadre", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"


def test_an_address_guessing_many_accounts_is_locked_too(areas, cadre_login):
    for n in range(5):
        sign_in(f"nobody{n}", "guess", address="10.9.9.9")
    assert sign_in("cadre", PASSWORD, address="10.9.9.9").status_code == 429
    # the account itself is not locked: from another address the cadre signs in
    assert sign_in("cadre", PASSWORD, address="10.1.1.2").status_code == 302


def test_a_success_forgets_the_earlier_failures(cadre_login):
    for n in range(4):
        sign_in("cadre", f"guess-{n}")
    assert sign_in("cadre", PASSWORD).status_code == 302
    for n in range(4):  # four more: a fresh count, not nine
        assert sign_in("cadre", f"again-{n}").status_code == 200
    assert sign_in("cadre", PASSWORD).status_code == 302


def test_an_operator_lifts_a_lockout_and_others_cannot(areas, cadre_login):
    for n in range(5):
        sign_in("cadre", f"guess-{n}")
    assert sign_in("cadre", PASSWORD).status_code == 429
    with pytest.raises(NotAllowed):
        user_unlock(actor=af.user(Role.VILLAGE_CADRE, areas["v11"]), user=cadre_login)
    other_county = af.user(Role.OPERATOR, af.area("130728000000", "别县", "county", areas["county"].parent))
    with pytest.raises(NotAllowed):
        user_unlock(actor=other_county, user=cadre_login)
    assert user_unlock(actor=af.user(Role.OPERATOR, areas["county"]), user=cadre_login) >= 1
    assert sign_in("cadre", PASSWORD).status_code == 302


def test_every_attempt_is_on_record_with_its_address(cadre_login):
    sign_in("cadre", "wrong", address="10.3.3.3")
    sign_in("cadre", PASSWORD, address="10.3.3.4")
    failure = AccessFailureLog.objects.get()
    assert (failure.username, failure.ip_address) == ("cadre", "10.3.3.3")
    assert "wrong" not in str(failure.__dict__)  # the password is never kept
    success = AccessLog.objects.get()
    assert (success.username, success.ip_address) == ("cadre", "10.3.3.4") and success.attempt_time


@pytest.mark.parametrize(
    ("password", "refused"),
    [("short-pw1", True), ("1234567890", True), ("password123", True), ("cadre-long-phrase", False)],
)
def test_staff_passwords_are_at_least_ten_characters_and_not_common(password, refused, cadre_login):
    if refused:
        with pytest.raises(ValidationError):
            validate_password(password, cadre_login)
    else:
        validate_password(password, cadre_login)


def test_the_operator_unlocks_from_the_user_admin(client, areas, cadre_login):
    for n in range(5):
        sign_in("cadre", f"guess-{n}")
    operator = af.user(Role.OPERATOR, areas["county"], is_staff=True)
    client.force_login(operator)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "unlock", "_selected_action": [cadre_login.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "已解除1个用户的登录锁定" in response.content.decode()
    assert sign_in("cadre", PASSWORD).status_code == 302
