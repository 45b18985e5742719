"""Fixtures for the department API: departments, keys issued by the real service, clients."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Department, Role, Scope
from accounts.services import api_key_issue
from monitoring.rules import deadlines
from tests.accounts import factories as af

ALL_SCOPES = list(Scope.values)


def today() -> dt.date:
    """The deployment's calendar day (the API checks dates against it)."""
    return deadlines.local_date(timezone.now())


def key_client(raw: str, **extra) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters live in the (local-memory) cache: start every test from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def civil(db):
    return Department.objects.get(code="civil_affairs")


@pytest.fixture
def issue(areas):
    """``issue(department, scopes=..., **kw) -> (key, raw)`` through ``api_key_issue``."""

    def _issue(department, scopes=None, **extra):
        extra.setdefault("county", areas["county"])
        return api_key_issue(
            actor=None,
            department=department,
            name=f"{department.name}测试",
            scopes=list(scopes or ALL_SCOPES),
            **extra,
        )

    return _issue


@pytest.fixture
def medical_key(issue, medical):
    return issue(medical)


@pytest.fixture
def api(medical_key):
    """An API client with the medical-insurance bureau's key (all scopes)."""
    return key_client(medical_key[1])


@pytest.fixture
def civil_key(issue, civil):
    return issue(civil)


@pytest.fixture
def civil_api(civil_key):
    return key_client(civil_key[1])


@pytest.fixture
def department_person(areas, medical):
    """A person of the medical-insurance bureau who signs in (session), not a key."""
    return af.user(Role.DEPARTMENT, areas["county"], department=medical, username="yb_clerk")
