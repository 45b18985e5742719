"""Risk clues: channels, triage, matching, attaching, dismissing, idempotent alerts, areas."""

from __future__ import annotations

import pytest

from accounts.errors import InvalidTransition, NotAllowed, ValidationError
from accounts.models import Department, Role
from households.models import MonitoringStatus
from monitoring.models import (
    CaseStatus,
    Channel,
    Clue,
    ClueStatus,
    CountySettings,
    MonitoringCase,
    StepStatus,
)
from monitoring.services import clues
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import (
    at,
    changes,
    d,
    open_case,
    run_procedure,
    step,
)

NOW = at(d(3, 1))


@pytest.fixture
def dept_user(areas, medical):
    return af.user(Role.DEPARTMENT, areas["county"], department=medical)


def _alert(dept_user, medical, external_id, *, id_number, now=NOW, **extra):
    fields = {"found_date": d(3, 1), "risk_type_codes": ["01"], "id_number": id_number, "now": now}
    fields.update(extra)
    return clues.alert_receive(actor=dept_user, department=medical, external_id=external_id, **fields)


@pytest.mark.parametrize("channel", [Channel.SELF_REPORT, Channel.CADRE_SCREENING])
def test_self_report_and_screening_open_a_case_at_once(hh, cadre, channel):
    clue = clues.clue_create(
        actor=cadre, channel=channel, found_date=d(3, 1), risk_type_codes=["01"], household=hh, now=NOW
    )
    assert clue.status == ClueStatus.CASE_OPENED
    case = clue.case
    assert case.status == CaseStatus.IDENTIFYING
    assert case.found_date == d(3, 1) and case.due_date == d(3, 16)
    assert list(case.risk_types.values_list("code", flat=True)) == ["01"]
    hv = step(case, "home_verification")
    assert hv.status == StepStatus.AVAILABLE and hv.due_date == d(3, 4)
    assert clue.outcome == "已启动识别程序"
    hh.refresh_from_db()
    assert hh.monitoring_status == MonitoringStatus.IDENTIFYING
    assert [(c.action, c.from_status, c.to_status) for c in changes("clue", clue.pk)] == [
        ("receive", "", "pending"),
        ("open_case", "pending", "case_opened"),
    ]
    assert all(c.actor == cadre and c.at == NOW for c in changes("clue", clue.pk))


def test_a_clue_found_earlier_starts_the_clock_on_its_own_date(hh, cadre):
    clue = clues.clue_create(
        actor=cadre, channel="self_report", found_date=d(2, 20), risk_type_codes=["01"], household=hh, now=NOW
    )
    assert clue.case.due_date == d(3, 7)


def test_department_alert_is_matched_by_id_number_and_waits_for_triage(
    hh, dept_user, medical, county_approver
):
    person = hh.members.first()
    clue, created = _alert(dept_user, medical, "YB-2026-001", id_number=person.id_number, amount="23000")
    assert created
    assert clue.status == ClueStatus.PENDING and clue.case is None
    assert clue.household == hh and clue.person == person and clue.area_code == hh.area_code
    assert clue.department == medical and clue.channel == Channel.DEPARTMENT_ALERT
    assert not MonitoringCase.objects.filter(household=hh).exists()

    case = clues.clue_open_case(actor=county_approver, clue=clue, now=at(d(3, 2)))
    clue.refresh_from_db()
    assert clue.status == ClueStatus.CASE_OPENED and clue.case == case
    assert case.due_date == d(3, 16)  # the clock started on the alert's date, not on triage


@pytest.mark.parametrize("channel", [Channel.OTHER, Channel.SYSTEM])
def test_other_channels_wait_for_triage(hh, cadre, channel):
    clue = clues.clue_create(
        actor=cadre, channel=channel, found_date=d(3, 1), risk_type_codes=["01"], household=hh, now=NOW
    )
    assert clue.status == ClueStatus.PENDING and clue.case is None


def test_a_helper_records_a_clue_that_waits(areas, hh):
    helper_user = af.user(Role.HELPER, areas["v11"])
    clue = clues.clue_create(
        actor=helper_user,
        channel="cadre_screening",
        found_date=d(3, 1),
        risk_type_codes=["01"],
        household=hh,
        now=NOW,
    )
    assert clue.status == ClueStatus.PENDING


def test_unmatched_clue_waits_and_the_county_matches_it(hh, dept_user, medical, county_approver, cadre):
    stranger = hf.id_number()
    clue, _ = _alert(dept_user, medical, "YB-2026-002", id_number=stranger, name="王某")
    assert clue.status == ClueStatus.UNMATCHED and clue.household is None
    assert clue.area_code == "130727000000"  # the county's, so county users see it
    assert Clue.objects.for_user(county_approver).filter(pk=clue.pk).exists()
    with pytest.raises(InvalidTransition, match="尚未匹配"):
        clues.clue_open_case(actor=county_approver, clue=clue, now=at(d(3, 2)))
    with pytest.raises(NotAllowed):
        clues.clue_match(actor=cadre, clue=clue, household=hh, now=at(d(3, 2)))

    clues.clue_match(actor=county_approver, clue=clue, household=hh, now=at(d(3, 2)))
    clue.refresh_from_db()
    assert clue.status == ClueStatus.PENDING and clue.household == hh and clue.area_code == hh.area_code
    case = clues.clue_open_case(actor=county_approver, clue=clue, now=at(d(3, 2)))
    assert case.household == hh
    assert [c.action for c in changes("clue", clue.pk)] == ["receive_unmatched", "match", "open_case"]


def test_matching_to_a_household_with_an_open_case_attaches(hh, cadre, dept_user, medical, county_approver):
    case = open_case(hh, cadre, d(3, 1))
    clue, _ = _alert(dept_user, medical, "YB-2026-003", id_number=hf.id_number())
    clues.clue_match(actor=county_approver, clue=clue, household=hh, now=at(d(3, 2)))
    clue.refresh_from_db()
    assert clue.status == ClueStatus.ATTACHED and clue.case == case


def test_a_person_of_another_household_cannot_be_matched(
    hh, areas, cadre, dept_user, medical, county_approver
):
    other = hf.household(areas["v11"], actor=cadre)
    clue, _ = _alert(dept_user, medical, "YB-2026-004", id_number=hf.id_number())
    with pytest.raises(ValidationError) as exc:
        clues.clue_match(
            actor=county_approver, clue=clue, household=hh, person=other.members.first(), now=at(d(3, 2))
        )
    assert "person" in exc.value.message_dict
    clue.refresh_from_db()
    assert clue.status == ClueStatus.UNMATCHED


def test_second_clue_on_a_household_with_an_open_case_attaches(hh, cadre, dept_user, medical):
    case = open_case(hh, cadre, d(3, 1))
    version = MonitoringCase.objects.get(pk=case.pk).version
    clue, created = _alert(
        dept_user, medical, "YB-2026-005", id_number=hh.members.first().id_number, risk_type_codes=["05"]
    )
    assert created and clue.status == ClueStatus.ATTACHED and clue.case == case
    assert clue.outcome == f"已并入在办案件（#{case.pk}）"
    assert sorted(case.risk_types.values_list("code", flat=True)) == ["01", "05"]
    assert MonitoringCase.objects.filter(household=hh).count() == 1
    assert MonitoringCase.objects.get(pk=case.pk).version == version + 1
    # a second self-report attaches as well, instead of failing on the open case
    again = clues.clue_create(
        actor=cadre,
        channel="self_report",
        found_date=d(3, 3),
        risk_type_codes=["01"],
        household=hh,
        now=at(d(3, 3)),
    )
    assert again.status == ClueStatus.ATTACHED and again.case == case


def test_a_clue_on_a_monitored_household_attaches_without_changing_its_risks(hh, actors):
    case = open_case(hh, actors.cadre, d(3, 1))
    run_procedure(case, actors, d(3, 2))
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORED
    clue = clues.clue_create(
        actor=actors.cadre,
        channel="cadre_screening",
        found_date=d(4, 1),
        risk_type_codes=["07"],
        household=hh,
        now=at(d(4, 1)),
    )
    assert clue.status == ClueStatus.ATTACHED and clue.case == case
    assert list(case.risk_types.values_list("code", flat=True)) == ["01"]


@pytest.mark.parametrize(
    ("reason", "note", "outcome"),
    [
        ("duplicate", "", "已排除：重复线索"),
        ("not_at_risk", "医保已报销", "已排除：经核实无风险（医保已报销）"),
        ("other", "户籍已迁出本县", "已排除：其他（户籍已迁出本县）"),
    ],
)
def test_dismiss_with_a_reason(hh, dept_user, medical, county_approver, reason, note, outcome):
    clue, _ = _alert(dept_user, medical, f"YB-D-{reason}", id_number=hh.members.first().id_number)
    clues.clue_dismiss(actor=county_approver, clue=clue, reason=reason, note=note, now=at(d(3, 2)))
    clue.refresh_from_db()
    assert clue.status == ClueStatus.DISMISSED and clue.dismiss_reason == reason
    assert clue.outcome == outcome and clue.outcome_at == at(d(3, 2))
    last = changes("clue", clue.pk)[-1]
    assert (last.action, last.from_status, last.to_status, last.actor) == (
        "dismiss",
        "pending",
        "dismissed",
        county_approver,
    )


def test_dismiss_needs_a_known_reason_and_a_note_for_other(hh, dept_user, medical, county_approver, cadre):
    clue, _ = _alert(dept_user, medical, "YB-D-bad", id_number=hh.members.first().id_number)
    with pytest.raises(ValidationError) as exc:
        clues.clue_dismiss(actor=county_approver, clue=clue, reason="bored", now=at(d(3, 2)))
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        clues.clue_dismiss(actor=county_approver, clue=clue, reason="other", note="  ", now=at(d(3, 2)))
    assert "note" in exc.value.message_dict
    with pytest.raises(NotAllowed):
        clues.clue_dismiss(actor=cadre, clue=clue, reason="duplicate", now=at(d(3, 2)))
    clue.refresh_from_db()
    assert clue.status == ClueStatus.PENDING


def test_an_unmatched_clue_can_be_dismissed(dept_user, medical, county_approver):
    clue, _ = _alert(dept_user, medical, "YB-D-nf", id_number=hf.id_number())
    clues.clue_dismiss(actor=county_approver, clue=clue, reason="not_found", now=at(d(3, 2)))
    clue.refresh_from_db()
    assert clue.status == ClueStatus.DISMISSED and clue.outcome == "已排除：查无此人"


def test_alert_receive_is_idempotent_per_department_and_external_id(hh, dept_user, medical, areas):
    number = hh.members.first().id_number
    first, created = _alert(dept_user, medical, "YB-2026-100", id_number=number)
    again, created_again = _alert(dept_user, medical, " YB-2026-100 ", id_number=number, now=at(d(3, 2)))
    assert created and not created_again and again.pk == first.pk
    assert Clue.objects.filter(department=medical).count() == 1
    assert len(changes("clue", first.pk)) == 1
    civil = Department.objects.get(code="civil_affairs")
    civil_user = af.user(Role.DEPARTMENT, areas["county"], department=civil)
    other, created_other = clues.alert_receive(
        actor=civil_user,
        department=civil,
        external_id="YB-2026-100",
        found_date=d(3, 1),
        risk_type_codes=["01"],
        id_number=number,
        now=NOW,
    )
    assert created_other and other.pk != first.pk


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("13072719800101001", "18位"),
        ("130727198013010010", "出生日期无效"),
        ("13072719800101001A", "前17位须为数字"),
    ],
)
def test_an_invalid_id_number_in_an_alert_is_refused_with_the_field_named(dept_user, medical, raw, message):
    with pytest.raises(ValidationError) as exc:
        _alert(dept_user, medical, "YB-BAD", id_number=raw)
    assert list(exc.value.message_dict) == ["id_number"]
    assert message in exc.value.message_dict["id_number"][0]
    assert not Clue.objects.exists()


def test_a_wrong_check_digit_is_refused(dept_user, medical):
    good = hf.id_number()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        _alert(dept_user, medical, "YB-BAD2", id_number=bad)
    assert "校验位" in exc.value.message_dict["id_number"][0]


def test_alert_fields_are_checked_together(dept_user, medical, county_approver):
    with pytest.raises(ValidationError) as exc:
        clues.clue_create(
            actor=county_approver,
            channel="department_alert",
            found_date=d(3, 5),
            risk_type_codes=["01"],
            amount="-5",
            now=NOW,
        )
    assert set(exc.value.message_dict) == {"found_date", "department", "external_id", "amount"}


def test_risk_types_are_checked_on_the_clue(hh, cadre):
    with pytest.raises(ValidationError) as exc:
        clues.clue_create(
            actor=cadre,
            channel="self_report",
            found_date=d(3, 1),
            risk_type_codes=["02"],
            household=hh,
            now=NOW,
        )
    assert "子项" in exc.value.message_dict["risk_type_codes"][0]
    assert not Clue.objects.exists()


def test_a_cadre_cannot_record_a_clue_for_another_village(areas, cadre):
    elsewhere = hf.household(areas["v12"])
    with pytest.raises(NotAllowed, match="不在您的工作区域内"):
        clues.clue_create(
            actor=cadre,
            channel="self_report",
            found_date=d(3, 1),
            risk_type_codes=["01"],
            household=elsewhere,
            now=NOW,
        )
    assert not Clue.objects.exists() and not MonitoringCase.objects.exists()


def test_triage_stays_inside_the_county(areas, hh, dept_user, medical):
    other_county = af.area("130728000000", "怀安县", "county", areas["city"])
    outsider = af.user(Role.COUNTY_APPROVER, other_county)
    clue, _ = _alert(dept_user, medical, "YB-X", id_number=hh.members.first().id_number)
    with pytest.raises(NotAllowed):
        clues.clue_open_case(actor=outsider, clue=clue, now=at(d(3, 2)))
    with pytest.raises(NotAllowed):
        clues.clue_dismiss(actor=outsider, clue=clue, reason="duplicate", now=at(d(3, 2)))
    assert not Clue.objects.for_user(outsider).exists()
    assert not Clue.objects.for_user(af.user(Role.VILLAGE_CADRE, areas["v21"])).exists()


def test_a_department_sees_only_its_own_alerts(hh, dept_user, medical, areas, cadre):
    mine, _ = _alert(dept_user, medical, "YB-MINE", id_number=hh.members.first().id_number)
    clues.clue_create(
        actor=cadre,
        channel="cadre_screening",
        found_date=d(3, 1),
        risk_type_codes=["01"],
        household=hh,
        now=NOW,
    )
    assert list(Clue.objects.for_user(dept_user)) == [mine]


def test_attaching_respects_the_county_limit_on_risk_types(hh, cadre, areas):
    default = CountySettings.objects.get(county__isnull=True)
    CountySettings.objects.create(
        county=areas["county"],
        max_risk_types=2,
        identification_procedure=default.identification_procedure,
        exit_procedure=default.exit_procedure,
    )
    case = open_case(hh, cadre, d(3, 1), risk_type_codes=["01", "03"])
    clue = clues.clue_create(
        actor=cadre,
        channel="cadre_screening",
        found_date=d(3, 2),
        risk_type_codes=["05"],
        household=hh,
        now=at(d(3, 2)),
    )
    assert clue.status == ClueStatus.ATTACHED
    assert sorted(case.risk_types.values_list("code", flat=True)) == ["01", "03"]
