"""A case action's refusal stays on the case page: the forms post to the case's own URL, an
error re-renders there, and the older ``/act/`` address never answers 405 to a GET."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from monitoring.models import Channel, MonitoringCase, Objection, PublicNotice
from monitoring.rules import deadlines
from monitoring.services import clues
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import at, run_procedure, step

TODAY = deadlines.local_date(timezone.now())


def open_case(household, actor) -> MonitoringCase:
    found = TODAY - dt.timedelta(days=10)
    clue = clues.clue_create(
        actor=actor,
        channel=Channel.SELF_REPORT,
        found_date=found,
        risk_type_codes=["07"],
        household=household,
        now=at(found),
    )
    return clue.case


@pytest.fixture
def signed_in(client, cadre):
    client.force_login(cadre)
    return client


def post(client, case, url=None, **fields):
    data = {"expected_version": MonitoringCase.objects.get(pk=case.pk).version, **fields}
    return client.post(url or f"/cases/{case.pk}/", data)


def test_the_case_page_forms_post_to_the_case_page(signed_in, household, cadre):
    case = open_case(household, cadre)
    body = signed_in.get(f"/cases/{case.pk}/").content.decode()
    assert f'action="/cases/{case.pk}/"' in body
    assert f'action="/cases/{case.pk}/act/"' not in body


def test_a_refused_action_re_renders_at_the_case_url_keeping_the_input(signed_in, household, cadre):
    case = open_case(household, cadre)
    home = step(case, "home_verification")
    response = post(
        signed_in,
        case,
        token="hv-x",
        action="complete",
        step=home.pk,
        visited_on=(TODAY + dt.timedelta(days=3)).isoformat(),
        visitors="张三",
        findings="屋顶漏雨",
    )
    assert response.status_code in (200, 400)
    assert response.request["PATH_INFO"] == f"/cases/{case.pk}/"
    body = response.content.decode()
    assert "屋顶漏雨" in body and "张三" in body
    assert response.context["open_key"] == f"complete-s{home.pk}"
    # reloading (a GET of the same URL) shows the case
    assert signed_in.get(f"/cases/{case.pk}/").status_code == 200


def test_get_of_the_act_address_goes_to_the_case_page(signed_in, household, cadre):
    case = open_case(household, cadre)
    response = signed_in.get(f"/cases/{case.pk}/act/")
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"


def test_the_act_address_of_a_case_outside_the_area_is_not_found(signed_in, areas):
    other = af.user(Role.VILLAGE_CADRE, areas["v21"])
    case = open_case(hf.household(areas["v21"], members=1), other)
    assert signed_in.get(f"/cases/{case.pk}/act/").status_code == 404


def test_switching_language_after_a_refusal_shows_the_case(signed_in, household, cadre):
    case = open_case(household, cadre)
    refused = post(signed_in, case, token="g-0", action="green_channel", reason="")
    assert refused.status_code in (200, 400)
    # the language switch posts ``next`` = the page's path: now the case page itself
    assert f'name="next" type="hidden" value="/cases/{case.pk}/"' in refused.content.decode()
    switched = signed_in.post(
        "/i18n/setlang/", {"language": "en", "next": f"/cases/{case.pk}/act/"}, follow=True
    )
    assert switched.status_code == 200
    assert switched.redirect_chain[-1][0] == f"/cases/{case.pk}/"


def _case_with_notice(household, actors):
    case = open_case(household, actors.cadre)
    run_procedure(case, actors, TODAY - dt.timedelta(days=9), until="village_notice")
    case.refresh_from_db()
    return case


def test_an_objection_without_a_date_is_refused_not_a_500(client, household, actors):
    case = _case_with_notice(household, actors)
    client.force_login(actors.cadre)
    notice_step = step(case, "village_notice")
    posted = post(
        client, case, token="n-1", action="post_notice", step=notice_step.pk, start_date=TODAY.isoformat()
    )
    assert posted.status_code == 302
    notice = PublicNotice.objects.get(step=notice_step)
    response = post(
        client, case, token="o-1", action="record_objection", notice=notice.pk, raised_on="", content=""
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "请填写异议提出日期。" in body and "请填写异议内容。" in body
    assert not Objection.objects.exists()
