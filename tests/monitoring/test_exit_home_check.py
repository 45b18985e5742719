"""The exit home check's four parts (听评看算): listen, assess, look (with photos attached to the
step), calculate (the income from the income records), each required before the step
completes; the photos' checks; the parts on the case page, the exit page and the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from households import services as household_services
from monitoring.models import CaseStatus, StatusChange, StepPhoto, StepStatus
from monitoring.rules.steps import validate_step_data
from monitoring.services import cases, exit_check, exits
from tests.households import factories as hf
from tests.monitoring.helpers import at, d, identified_case, step, tiny_png

PROPOSE_DAY = d(7, 20)
TEXTS = {"listen": "务工收入稳定", "assess": "评议认为已稳定", "look": "住房安全，新添农机"}


def _png(name="look.png", content=None):
    return SimpleUploadedFile(name, content if content is not None else tiny_png(), content_type="image/png")


@pytest.fixture
def home_check(areas, actors):
    """A monitored household with its income (11,000 per person in 2026), proposed for exit:
    the exit procedure's home check is open."""
    hh = hf.household(areas["v11"], members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, d(1, 5))
    household_services.income_record_set(actor=None, household=hh, year=2026, wages="22000")
    exits.exit_propose(
        actor=actors.county_approver,
        case=case,
        mode="assistance",
        override_reason="县级研究同意",
        now=at(PROPOSE_DAY),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.EXIT_IN_PROGRESS
    check = step(case, "home_verification", "exit")
    assert check.status == StepStatus.AVAILABLE
    return case, check


def _data(**extra):
    return {
        "visited_on": PROPOSE_DAY.isoformat(),
        "visitors": ["张三", "李四"],
        "findings": "同意消除",
        **TEXTS,
        **extra,
    }


# --- the rule ---------------------------------------------------------------------------------


def test_each_part_is_required_for_the_exit_check():
    clean, errors = validate_step_data(
        "home_verification",
        {"visited_on": "2026-07-20", "visitors": "张三,李四", "findings": "x"},
        procedure_kind="exit",
        today=PROPOSE_DAY,
    )
    assert set(errors) == {"listen", "assess", "look", "photos", "income"}
    income = {"year": 2026, "per_capita": "11000.00"}
    clean, errors = validate_step_data(
        "home_verification",
        {"visited_on": "2026-07-20", "visitors": "张三,李四", "findings": "x", **TEXTS},
        procedure_kind="exit",
        today=PROPOSE_DAY,
        photos=2,
        income=income,
    )
    assert errors == {}
    assert clean["listen"] == TEXTS["listen"] and clean["photos"] == 2 and clean["income"] == income


def test_the_identification_home_check_asks_for_none_of_them():
    _clean, errors = validate_step_data(
        "home_verification",
        {"visited_on": "2026-07-20", "visitors": "张三", "findings": "x", "authorization_signed": True},
        procedure_kind="identification",
        today=PROPOSE_DAY,
    )
    assert errors == {}


# --- the service --------------------------------------------------------------------------------


def test_the_step_is_refused_without_photos_then_completes_with_the_calculated_income(home_check, actors):
    case, check = home_check
    with pytest.raises(ValidationError) as refused:
        cases.step_complete(actor=actors.cadre, step=check, data=_data(listen=""), now=at(PROPOSE_DAY, 15))
    assert set(refused.value.message_dict) == {"listen", "photos"}
    exit_check.step_photo_add(
        actor=actors.cadre, step=check, upload=_png(), caption="新房", now=at(PROPOSE_DAY)
    )
    cases.step_complete(actor=actors.cadre, step=check, data=_data(), now=at(PROPOSE_DAY, 15))
    check.refresh_from_db()
    assert check.status == StepStatus.DONE
    assert {k: check.data[k] for k in TEXTS} == TEXTS
    assert check.data["photos"] == 1
    income = check.data["income"]
    assert (
        income["year"] == 2026 and income["per_capita"] == "11000.00" and income["net_income"] == "22000.00"
    )
    assert income["line"] == "8800.00" and income["above_line"] is True
    assert StatusChange.objects.filter(case=case, action="add_photo", actor=actors.cadre).count() == 1


def test_without_an_income_record_the_check_cannot_complete(areas, actors):
    hh = hf.household(areas["v11"], members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, d(1, 5))
    exits.exit_propose(
        actor=actors.county_approver,
        case=case,
        mode="assistance",
        override_reason="县级同意",
        now=at(PROPOSE_DAY),
    )
    check = step(case, "home_verification", "exit")
    exit_check.step_photo_add(actor=actors.cadre, step=check, upload=_png(), now=at(PROPOSE_DAY))
    with pytest.raises(ValidationError) as refused:
        cases.step_complete(actor=actors.cadre, step=check, data=_data(), now=at(PROPOSE_DAY, 15))
    assert set(refused.value.message_dict) == {"income"}


def test_photos_are_checked(home_check, actors, other_county):
    case, check = home_check
    with pytest.raises(ValidationError) as bad:
        exit_check.step_photo_add(actor=actors.cadre, step=check, upload=_png("x.png", b"GIF89a..."))
    assert "JPEG或PNG" in bad.value.message_dict["photo"][0]
    big = _png("big.png", tiny_png() + b"\0" * exit_check.PHOTO_MAX_BYTES)
    with pytest.raises(ValidationError) as bad:
        exit_check.step_photo_add(actor=actors.cadre, step=check, upload=big)
    assert "5MB" in bad.value.message_dict["photo"][0]
    with pytest.raises(ValidationError):
        exit_check.step_photo_add(actor=actors.cadre, step=check, upload=None)
    with pytest.raises(NotAllowed):
        exit_check.step_photo_add(actor=other_county["cadre"], step=check, upload=_png())
    with pytest.raises(NotAllowed):  # the step is the village's
        exit_check.step_photo_add(actor=actors.township_reviewer, step=check, upload=_png())
    first = step(case, "home_verification", "identification")
    with pytest.raises(InvalidTransition):
        exit_check.step_photo_add(actor=actors.cadre, step=first, upload=_png())
    for _i in range(exit_check.PHOTO_MAX_COUNT):
        exit_check.step_photo_add(actor=actors.cadre, step=check, upload=_png())
    with pytest.raises(ValidationError):
        exit_check.step_photo_add(actor=actors.cadre, step=check, upload=_png())
    assert StepPhoto.objects.filter(step=check).count() == exit_check.PHOTO_MAX_COUNT
    jpeg = exit_check.image_type(b"\xff\xd8\xff\xe0")
    assert jpeg == ("image/jpeg", "jpg")


# --- the pages and the API ---------------------------------------------------------------------


def test_the_case_page_uploads_photos_and_completes_the_check(client, home_check, actors):
    case, check = home_check
    client.force_login(actors.cadre)
    url = reverse("monitoring:case_detail", args=[case.pk])
    page = client.get(url).content.decode()
    assert "听评看算：四项齐全方可办结" in page
    assert "2026年家庭纯收入22000.00元，2人，人均11000.00元" in page
    assert 'name="listen"' in page and 'name="assess"' in page and 'name="look"' in page
    # completing without a photo: every error at once, the typed text kept
    response = client.post(
        url,
        {
            "action": "complete",
            "step": check.pk,
            "expected_version": case.version,
            "visited_on": "2026-07-20",
            "visitors": "张三,李四",
            "findings": "同意",
            "listen": "我家收入稳定",
        },
    )
    body = response.content.decode()
    assert "请上传至少1张入户所见的照片。" in body and "我家收入稳定" in body
    response = client.post(
        reverse("monitoring:case_photo_upload", args=[case.pk]),
        {"step": check.pk, "photo": _png(), "caption": "院落"},
    )
    assert response.status_code == 302
    photo = StepPhoto.objects.get(step=check)
    shown = client.get(reverse("monitoring:case_photo", args=[case.pk]) + f"?n={photo.pk}")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert client.get(reverse("monitoring:case_photo", args=[case.pk]) + "?n=999999").status_code == 404
    bad = client.post(
        reverse("monitoring:case_photo_upload", args=[case.pk]), {"step": check.pk}, follow=True
    )
    assert "请选择照片。" in bad.content.decode()
    case.refresh_from_db()
    response = client.post(
        url,
        {
            "action": "complete",
            "step": check.pk,
            "expected_version": case.version,
            "visited_on": "2026-07-20",
            "visitors": "张三,李四",
            "findings": "同意",
            **TEXTS,
        },
    )
    assert response.status_code == 302
    check.refresh_from_db()
    assert check.status == StepStatus.DONE and check.data["photos"] == 1


def test_the_exit_page_shows_the_parts_beside_the_criteria(client, home_check, actors):
    case, check = home_check
    exit_check.step_photo_add(actor=actors.cadre, step=check, upload=_png(), now=at(PROPOSE_DAY))
    cases.step_complete(actor=actors.cadre, step=check, data=_data(), now=at(PROPOSE_DAY, 15))
    client.force_login(actors.township_reviewer)
    page = client.get(reverse("monitoring:case_exit", args=[case.pk])).content.decode()
    assert 'id="checklist"' in page and 'id="home-check"' in page
    for text in TEXTS.values():
        assert text in page
    assert "人均11000.00元" in page and "不低于监测线" in page
    assert reverse("monitoring:case_photo", args=[case.pk]) in page


def test_before_the_exit_procedure_the_exit_page_previews_the_income(client, areas, actors):
    hh = hf.household(areas["v11"], members=2, actor=actors.cadre)
    case, _day = identified_case(hh, actors, d(1, 5))
    client.force_login(actors.cadre)
    page = client.get(reverse("monitoring:case_exit", args=[case.pk])).content.decode()
    assert 'id="home-check"' in page and "没有可测算的收入记录" in page
    household_services.income_record_set(actor=None, household=hh, year=2025, wages="6000")
    page = client.get(reverse("monitoring:case_exit", args=[case.pk])).content.decode()
    assert "人均3000.00元" in page and "低于监测线" in page


def test_the_api_uploads_a_photo_and_completes_the_check(client, home_check, actors):
    case, check = home_check
    client.force_login(actors.cadre)
    response = client.post(
        f"/api/v1/cases/{case.pk}/photos/", {"step": check.pk, "file": _png(), "caption": "院落"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/png"
    bad = client.post(
        f"/api/v1/cases/{case.pk}/photos/", {"step": check.pk, "file": _png("a.gif", b"GIF89a")}
    )
    assert bad.status_code == 400 and "photo" in bad.json()["fields"]
    assert (
        client.post(f"/api/v1/cases/{case.pk}/photos/", {"step": 99999999, "file": _png()}).status_code == 404
    )
    case.refresh_from_db()
    response = client.post(
        f"/api/v1/cases/{case.pk}/actions/",
        {"action": "complete", "step": check.pk, "data": _data()},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    done = next(s for s in response.json()["steps"] if s["id"] == check.pk)
    assert done["data"]["income"]["per_capita"] == "11000.00"


def test_outside_the_area_the_photo_is_not_found(client, home_check, actors, other_county):
    case, check = home_check
    photo = exit_check.step_photo_add(actor=actors.cadre, step=check, upload=_png(), now=at(PROPOSE_DAY))
    client.force_login(other_county["cadre"])
    url = reverse("monitoring:case_photo", args=[case.pk]) + f"?n={photo.pk}"
    assert client.get(url).status_code == 404
