"""Stored markup renders as text: names, clue descriptions and visit notes holding tags, very
long text, emoji and right-to-left marks show escaped on every page that shows them, on the
printable notice, and in the admin; nowhere does the markup come back as markup."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from households.models import Person
from monitoring.models import Visit
from monitoring.services import cases, clues
from tests.accounts import factories as af
from tests.households import factories as hf

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
#: right-to-left override and isolate marks, an emoji, a zero-width joiner
ODD = "\u202egnp.exe\u202c \u2067العربية\u2069 👨\u200d👩\u200d👧"
LONG = "很长的说明" * 380  # 1,900 characters, under the 2,000 limit


@pytest.fixture
def marked(areas, cadre):
    household = hf.household(areas["v11"], members=2)
    head = household.members.order_by("id").first()
    # as an import or an older system could have stored it: straight into the table
    Person.objects.filter(pk=head.pk).update(name=(SCRIPT + IMG)[:50])
    clue = clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=timezone.localdate(),
        risk_type_codes=["01"],
        household=household,
        description=f"{SCRIPT} {IMG} {ODD} {LONG}"[:2000],
    )
    Visit.objects.create(
        household=household,
        area_code=household.area_code,
        visited_on=timezone.localdate() - dt.timedelta(days=1),
        notes=f"{IMG}{SCRIPT}{ODD}",
        visited_by=cadre,
    )
    return {"household": household, "clue": clue, "case": clue.case}


def _pages(marked) -> list[str]:
    h, c, k = marked["household"], marked["clue"], marked["case"]
    return [
        "/households/",
        f"/households/{h.pk}/",
        f"/households/{h.pk}/edit/",
        f"/households/{h.pk}/visits/",
        f"/households/{h.pk}/clue/",
        "/clues/",
        f"/clues/{c.pk}/",
        "/cases/?queue=all",
        f"/cases/{k.pk}/",
        f"/cases/{k.pk}/plan/",
        "/",
        "/notifications/",
    ]


def _assert_text_only(body: str, where: str) -> None:
    assert SCRIPT not in body, where
    assert "<img src=x" not in body, where
    assert 'onerror="alert' not in body, where


def test_markup_is_text_on_every_page_that_shows_it(client, marked, county_approver, cadre):
    shown = 0
    for user in (cadre, county_approver):
        client.force_login(user)
        for url in _pages(marked):
            response = client.get(url)
            # a page the role does not use is refused; every other one is shown
            assert response.status_code in (200, 403), (user.username, url, response.status_code)
            assert response.status_code == 200 or user is cadre, (user.username, url)
            body = response.content.decode()
            _assert_text_only(body, url)
            shown += "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert shown >= 8  # the escaped text really is on the pages, not left out


def test_markup_is_text_on_the_printable_notice(client, marked, cadre, township_reviewer, county_approver):
    case = marked["case"]
    step = case.steps.get(code="home_verification")
    cases.step_complete(
        actor=cadre,
        step=step,
        data={
            "visited_on": timezone.localdate().isoformat(),
            "visitors": [f"{SCRIPT}张三"],
            "authorization_signed": True,
            "findings": f"{IMG}属实",
        },
    )
    client.force_login(cadre)
    response = client.get(f"/cases/{case.pk}/notice/")
    assert response.status_code in (200, 404)
    _assert_text_only(response.content.decode(), "notice")
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    _assert_text_only(detail, "case after the step")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;张三" in detail


def test_markup_is_text_in_the_admin(areas, marked):
    operator = af.user("operator", areas["county"], username="op", is_staff=True)
    admin = Client()
    admin.force_login(operator)
    person = marked["household"].members.order_by("id").first()
    urls = [
        "/admin/households/household/",
        f"/admin/households/household/{marked['household'].pk}/change/",
        "/admin/households/person/",
        f"/admin/households/person/{person.pk}/change/",
        "/admin/monitoring/clue/",
        f"/admin/monitoring/clue/{marked['clue'].pk}/change/",
    ]
    opened = 0
    for url in urls:
        response = admin.get(url)
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        if response.status_code == 200:
            opened += 1
            _assert_text_only(response.content.decode(), url)
    assert opened >= 2
