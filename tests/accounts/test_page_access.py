"""Who gets which door: the pages for the staff roles, the admin for operators only, the API
for department accounts (who get a 403 page that says so, not an empty list)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Department, Role
from tests.accounts import factories as af


@pytest.fixture
def department_user(areas):
    dept = Department.objects.get(code="education")
    return af.user(Role.DEPARTMENT, areas["county"], username="edu", department=dept)


def test_department_account_gets_a_clear_403_on_the_household_list(client, department_user):
    client.force_login(department_user)
    response = client.get(reverse("households:list"))
    assert response.status_code == 403
    content = response.content.decode()
    assert 'id="forbidden-reason"' in content
    assert "您的角色不使用此页面。" in content
    assert "数据接口" in content  # says where department accounts work
    assert 'href="/"' in content  # and a way back


def test_the_403_page_reads_in_english(client, department_user):
    client.force_login(department_user)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("households:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    content = response.content.decode()
    assert "This page is not for your role." in content
    assert "无权访问" not in content


@pytest.mark.parametrize(
    ("fixture", "shown"),
    [
        ("cadre", False),
        ("helper_user", False),
        ("township_reviewer", False),
        ("county_approver", False),
        ("operator", True),
        ("superuser", True),
    ],
)
def test_admin_link_in_the_menu_only_for_operators(client, request, fixture, shown):
    user = request.getfixturevalue(fixture)
    if not user.is_superuser:
        user.is_staff = True  # is_staff plays no part
        user.save(update_fields=["is_staff"])
    client.force_login(user)
    content = client.get("/").content.decode()
    assert ('href="/admin/"' in content) is shown


def test_the_english_menu_uses_short_plural_labels(client, county_approver):
    client.force_login(county_approver)
    client.cookies["django_language"] = "en"
    content = client.get("/").content.decode()
    for label in ("To do", "Households", "Cases", "Leads", "Screening", "Year-end", "Ledgers", "Task runs"):
        assert f">{label}<" in content, label
    assert ">Log out<" in content
