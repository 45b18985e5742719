"""Demo workflow data for the first look (``manage.py demo_cases``): cases at every stage in
the demo cadre's village, written through the real services with past ``now`` values, so the
pages, queues and ledgers have something to show.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import Department, User
from households.models import Helper, Household, HouseholdType, Person
from monitoring.models import Clue, MonitoringCase, StepKind, StepStatus
from monitoring.rules import deadlines
from monitoring.services import assistance, cases, clues, points, scoring

#: (risk types, how far to take it, category) for the demo village's households
PLAN = [
    (["01"], "home_verification", ""),
    (["09"], "home_verification", ""),
    (["0201"], "village_review", ""),
    (["07"], "notice_running", ""),
    (["03"], "township_review", ""),
    (["01", "04"], "county_approval", ""),
    (["01"], "identified", "marginal"),
    (["07"], "identified", "marginal"),
    (["05"], "rejected", ""),
    (["01"], "exit_home_check", "marginal"),
]


def sample_png() -> bytes:
    """A valid 1×1 PNG (the demo's home-check photo)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x2e\x7d\x32"))
        + chunk(b"IEND", b"")
    )


def _to_exit_home_check(case, users, today: dt.date) -> None:
    """An identified case proposed for exit (by the county, with its reason), its exit home
    check open with one photo uploaded: the 听评看算 form and the exit page have something."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from monitoring.services import exit_check, exits

    case.refresh_from_db()
    exits.exit_propose(
        actor=users["county_approver"],
        case=case,
        mode="natural" if case.household.no_labour_safety_net else "assistance",
        override_reason="演示：家庭主要劳动力已稳定就业，县级研究同意启动风险消除",
        now=_at(today, 9),
    )
    check = case.steps.filter(procedure_kind="exit", kind=StepKind.HOME_VERIFICATION).first()
    upload = SimpleUploadedFile("look.png", sample_png(), content_type="image/png")
    exit_check.step_photo_add(
        actor=users["village_cadre"], step=check, upload=upload, caption="演示照片", now=_at(today, 10)
    )


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=deadlines.SHANGHAI)


def _data(step, today: dt.date, category: str) -> dict:
    if step.kind == StepKind.HOME_VERIFICATION:
        return {
            "visited_on": today.isoformat(),
            "visitors": ["李建军"],
            "authorization_signed": True,
            "findings": "已入户核实家庭收支和资产情况",
        }
    if step.kind == StepKind.DATA_COMPARISON:
        return {"findings": "车辆、工商、房产、财政供养比对无异常"}
    if step.kind == StepKind.VILLAGE_REVIEW:
        return {
            "held_on": today.isoformat(),
            "attendees": 11,
            "votes_for": 10,
            "votes_against": 0,
            "votes_abstain": 1,
            "minutes": "经村民代表民主评议，同意申报",
        }
    if step.kind == StepKind.TOWNSHIP_REVIEW:
        return {"opinion": "经乡镇核查，情况属实"}
    if step.kind == StepKind.COUNTY_APPROVAL:
        return {"category": category, "opinion": "同意纳入", "explanation": ""}
    return {}


def _actor(step, users):
    return users[step.actor_role]


def _advance(case, users, *, stop: str, start: dt.date, category: str) -> None:
    """Complete the case's steps day by day until the step named ``stop`` is available."""
    day = start
    for _round in range(20):
        case.refresh_from_db()
        available = list(case.steps.filter(status=StepStatus.AVAILABLE).order_by("sort_order"))
        if not available or any(s.code == stop for s in available) and stop != "identified":
            return
        for step in available:
            if step.code == stop:
                continue
            now = _at(day)
            if step.kind == StepKind.VILLAGE_NOTICE and not hasattr(step, "notice"):
                cases.notice_post(actor=_actor(step, users), step=step, start_date=day, now=now)
                if stop == "notice_running":
                    return
                day += dt.timedelta(days=5)
                continue
            data = _data(step, day, category)
            cases.step_complete(actor=_actor(step, users), step=step, data=data, now=_at(day, 15))
        day += dt.timedelta(days=1)


#: (conduct, reason, days ago) the panel scored; then what the households bought
POINTS_AWARDS = [
    ("C01", "庭院干净整洁，室内物品摆放有序", 40),
    ("C02", "在镇上蔬菜基地务工", 30),
    ("C04", "参加村内道路清扫", 20),
    ("C03", "照顾瘫痪在床的母亲", 10),
]
POINTS_REDEMPTIONS = [("G04", 1, 5), ("G06", 2, 2)]


def _demo_points(cadre, village, today: dt.date) -> int:
    """The village panel's awards to a few households and two redemptions at the point shop."""
    households = list(Household.objects.filter(village=village).order_by("number")[:4])
    made = 0
    for n, household in enumerate(households):
        for code, reason, days in POINTS_AWARDS[: len(POINTS_AWARDS) - n]:
            points.points_award(
                actor=cadre,
                household=household,
                conduct_code=code,
                awarded_on=today - dt.timedelta(days=days),
                reason=reason,
                panel="村党支部书记、村委委员、村民代表、驻村第一书记",
                now=_at(today - dt.timedelta(days=days), 15),
            )
            made += 1
    for household, (code, quantity, days) in zip(households, POINTS_REDEMPTIONS, strict=False):
        points.points_redeem(
            actor=cadre,
            household=household,
            item_code=code,
            quantity=quantity,
            redeemed_on=today - dt.timedelta(days=days),
            now=_at(today - dt.timedelta(days=days), 9),
        )
        made += 1
    return made


@transaction.atomic
def create_demo_cases(*, if_empty: bool = True) -> int:
    """Cases in the demo cadre's village; returns how many were made (0 if some exist)."""
    if if_empty and MonitoringCase.objects.exists():
        return 0
    users = {u.role: u for u in User.objects.filter(username__in=["cadre", "township", "county"])}
    if len(users) < 3:
        return 0
    cadre = users["village_cadre"]
    village = cadre.areas.first()
    today = timezone.localdate()
    households = list(
        Household.objects.filter(village=village, monitoring_status="").order_by("number")[: len(PLAN) + 2]
    )
    made = 0
    for index, ((risks, stop, category), household) in enumerate(zip(PLAN, households, strict=False)):
        if category == "marginal" and household.household_type == HouseholdType.OUT_OF_POVERTY:
            category = "unstable"
        found = today - dt.timedelta(
            days=14 if stop in ("identified", "county_approval", "exit_home_check") else 6 - index % 4
        )
        clue = clues.clue_create(
            actor=cadre,
            channel="self_report" if index % 2 else "cadre_screening",
            found_date=found,
            risk_type_codes=risks,
            household=household,
            description="演示：家庭成员患病/受灾等导致支出骤增",
            now=_at(found),
        )
        case = clue.case
        made += 1
        if stop == "rejected":
            step = case.steps.get(code="home_verification")
            cases.step_reject(
                actor=cadre, step=step, reason="经入户核查，家庭收入稳定，无返贫风险", now=_at(found, 16)
            )
            continue
        until = "identified" if stop == "exit_home_check" else stop
        _advance(case, users, stop=until, start=found + dt.timedelta(days=1), category=category or "marginal")
        if stop == "exit_home_check":
            _to_exit_home_check(case, users, today)
        if stop == "identified":
            case.refresh_from_db()
            codes = {"01": ["M0504", "M0502", "M0401"], "07": ["M0202", "M0203"]}[risks[0]]
            assistance.plan_set(
                actor=users["county_approver"],
                case=case,
                items=[{"measure": code, "planned_start": today.isoformat()} for code in codes],
            )
    made += _demo_points(cadre, village, today)
    # the helpers who help the village's households live there (pairing ranks them first)
    resident = Helper.objects.filter(assignments__household__village=village).values_list("pk", flat=True)
    Helper.objects.filter(pk__in=sorted(set(resident))[:3]).update(village=village)
    # Department alerts waiting for the county's triage: one matched, one not in the registry.
    department = Department.objects.filter(code="medical_insurance").first()
    dept_user = User.objects.filter(username="dept").first()
    person = Person.objects.filter(household__village=village, household__monitoring_status="").last()
    if department and dept_user and person:
        clues.clue_create(
            actor=dept_user,
            channel="department_alert",
            department=department,
            external_id="YB-DEMO-0001",
            found_date=today - dt.timedelta(days=2),
            risk_type_codes=["01"],
            id_number=person.id_number,
            name=person.name,
            description="住院合规自付费用超过2万元",
            amount="23500.00",
        )
        made += Clue.objects.filter(external_id="YB-DEMO-0001").count()
    demo_calls(cadre, village)
    # Every household's identification score, so the triage list can sort by it.
    scoring.score_households(now=timezone.now(), area_code=village.code[:6] + "000000")
    return made


def demo_calls(cadre, village) -> None:
    """Emergency calls in the demo village: one waiting for an answer (escalated past the
    helper), one being handled, one closed with what was done."""
    from households.models import HelperAssignment
    from monitoring.services.calls import call_acknowledge, call_close, call_escalation, call_raise

    now = timezone.now()
    helped = list(
        HelperAssignment.objects.active()
        .filter(household__village=village, helper__user__isnull=False)
        .select_related("helper__user", "household")
        .order_by("household__number")[:3]
    )
    others = list(Household.objects.filter(village=village).order_by("-number")[:3])
    households = [a.household for a in helped] + others
    if len(households) < 3:
        return
    closed, _ = call_raise(
        actor=cadre, household=households[2], note="演示：老人夜间胸闷", now=now - dt.timedelta(days=3)
    )
    call_close(
        actor=cadre,
        call=closed,
        outcome="村医10分钟到场，测血压后送乡卫生院，已无大碍",
        now=now - dt.timedelta(days=3) + dt.timedelta(minutes=25),
    )
    handled, _ = call_raise(
        actor=cadre, household=households[1], note="演示：屋内跌倒", now=now - dt.timedelta(hours=2)
    )
    call_acknowledge(actor=cadre, call=handled, now=now - dt.timedelta(hours=2) + dt.timedelta(minutes=4))
    call_raise(
        actor=cadre,
        household=households[0],
        note="演示：按下呼叫器，电话未接通",
        now=now - dt.timedelta(minutes=12),
    )
    call_escalation(now=now)
