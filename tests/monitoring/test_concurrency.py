"""Two people act on the same case at the same moment, each on their own connection.

PostgreSQL only: SQLite serialises whole transactions, so there is no race to show. Each test
lets the first thread do its work and hold its transaction open while the second one starts:
without the row locks the second would read the old state and write over the first.
"""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.errors import Conflict, InvalidTransition
from accounts.models import Department, Role
from monitoring.models import (
    CaseStatus,
    Clue,
    ClueStatus,
    MonitoringCase,
    StatusChange,
    StepStatus,
)
from monitoring.services import cases, clues
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring.helpers import (
    at,
    d,
    step,
    step_data,
)
from tests.transactional import (  # noqa: F401 (fixtures)
    HOLD,
    race,
    reference_data,
    reference_data_afterwards,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite runs one write transaction at a time, so there is no race",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reference_data"),
]


def test_two_people_complete_the_same_step(case, actors):
    hv = step(case, "home_verification")
    data = step_data(hv, d(3, 2))

    def complete():
        return cases.step_complete(actor=actors.cadre, step=hv.pk, data=data, now=at(d(3, 2)))

    out = race(complete, complete)
    assert not isinstance(out["first"], Exception), out["first"]
    assert isinstance(out["second"], InvalidTransition)
    assert out["second"].message == "当前状态（已完成）不能进行此操作。"
    assert out["waited"] >= HOLD / 2  # it waited for the first one's lock
    hv.refresh_from_db()
    assert hv.status == StepStatus.DONE
    assert StatusChange.objects.filter(object_type="step", object_id=hv.pk, action="complete").count() == 1
    # the steps it opens were opened once
    assert StatusChange.objects.filter(case=case, action="unlock").count() == 1 + 3
    assert MonitoringCase.objects.get(pk=case.pk).version == case.version + 1


def test_a_stale_page_gets_a_conflict_and_writes_nothing(case, actors):
    cases.step_complete(
        actor=actors.cadre,
        step=step(case, "home_verification"),
        data=step_data(step(case, "home_verification"), d(3, 2)),
        now=at(d(3, 2)),
    )
    version = MonitoringCase.objects.get(pk=case.pk).version
    vr, dc = step(case, "village_review"), step(case, "data_comparison")
    before = StatusChange.objects.count()

    def review():
        return cases.step_complete(
            actor=actors.cadre,
            step=vr.pk,
            data=step_data(vr, d(3, 3)),
            now=at(d(3, 3)),
            expected_version=version,
        )

    def compare():
        return cases.step_complete(
            actor=actors.county_approver,
            step=dc.pk,
            data=step_data(dc, d(3, 3)),
            now=at(d(3, 3)),
            expected_version=version,
        )

    out = race(review, compare)
    assert not isinstance(out["first"], Exception), out["first"]
    assert isinstance(out["second"], Conflict)
    assert out["second"].message == "该案件刚被他人更新，请刷新页面后再办理。"
    dc.refresh_from_db()
    assert dc.status == StepStatus.AVAILABLE and dc.completed_at is None and dc.data == {}
    assert not StatusChange.objects.filter(object_type="step", object_id=dc.pk, action="complete").exists()
    # only the review and the notice it opened were written
    assert StatusChange.objects.count() == before + 2


def test_reject_and_complete_at_once_leave_one_consistent_outcome(case, actors):
    hv = step(case, "home_verification")

    def reject():
        return cases.step_reject(actor=actors.cadre, step=hv.pk, reason="农户拒绝授权", now=at(d(3, 2)))

    def complete():
        return cases.step_complete(
            actor=actors.cadre, step=hv.pk, data=step_data(hv, d(3, 2)), now=at(d(3, 2))
        )

    out = race(reject, complete)
    assert not isinstance(out["first"], Exception), out["first"]
    assert isinstance(out["second"], InvalidTransition)
    assert out["second"].message == "当前状态（不予通过）不能进行此操作。"
    case.refresh_from_db()
    assert case.status == CaseStatus.NOT_INCLUDED
    assert set(case.steps.values_list("status", flat=True)) == {StepStatus.REJECTED, StepStatus.CANCELLED}
    assert not StatusChange.objects.filter(case=case, action="complete").exists()


def test_two_self_reports_for_one_household_open_one_case(areas, cadre):
    hh = hf.household(areas["v11"], actor=cadre)

    def report(day):
        def run():
            return clues.clue_create(
                actor=cadre,
                channel="self_report",
                found_date=d(3, day),
                risk_type_codes=["01"],
                household=hh,
                now=at(d(3, 2)),
            )

        return run

    out = race(report(1), report(2))
    assert not isinstance(out["first"], Exception), out["first"]
    assert not isinstance(out["second"], Exception), out["second"]  # nothing the cadre typed is lost
    assert MonitoringCase.objects.filter(household=hh).count() == 1
    case = MonitoringCase.objects.get(household=hh)
    assert sorted(Clue.objects.filter(household=hh).values_list("status", flat=True)) == [
        ClueStatus.ATTACHED,
        ClueStatus.CASE_OPENED,
    ]
    assert set(Clue.objects.filter(household=hh).values_list("case", flat=True)) == {case.pk}


def test_the_same_alert_twice_at_once_is_stored_once(areas):
    medical = Department.objects.get(code="medical_insurance")
    dept_user = af.user(Role.DEPARTMENT, areas["county"], department=medical)
    number = hf.id_number()

    def receive():
        return clues.alert_receive(
            actor=dept_user,
            department=medical,
            external_id="YB-RACE-1",
            found_date=d(3, 1),
            risk_type_codes=["01"],
            id_number=number,
            now=at(d(3, 2)),
        )

    out = race(receive, receive)
    first, second = out["first"], out["second"]
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert first[1] is True and second[1] is False
    assert first[0].pk == second[0].pk
    assert Clue.objects.filter(department=medical, external_id="YB-RACE-1").count() == 1


def test_triage_locks_the_clue(areas, county_approver):
    """Dismissing and opening a case from one clue at once: one wins, the other is refused."""
    medical = Department.objects.get(code="medical_insurance")
    dept_user = af.user(Role.DEPARTMENT, areas["county"], department=medical)
    hh = hf.household(areas["v11"], actor=county_approver)
    clue, _created = clues.alert_receive(
        actor=dept_user,
        department=medical,
        external_id="YB-RACE-2",
        found_date=d(3, 1),
        risk_type_codes=["01"],
        id_number=hh.members.first().id_number,
        now=at(d(3, 2)),
    )
    assert clue.status == ClueStatus.PENDING

    def dismiss():
        return clues.clue_dismiss(actor=county_approver, clue=clue, reason="duplicate", now=at(d(3, 3)))

    def open_():
        return clues.clue_open_case(actor=county_approver, clue=clue, now=at(d(3, 3)))

    out = race(dismiss, open_)
    assert not isinstance(out["first"], Exception), out["first"]
    assert isinstance(out["second"], InvalidTransition), out["second"]
    clue.refresh_from_db()
    assert clue.status == ClueStatus.DISMISSED
    assert not MonitoringCase.objects.filter(household=hh).exists()
