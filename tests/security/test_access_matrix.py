"""The access matrix, generated from the URL conf and the API router: every role × every URL
that names an object × an object inside the caller's reach, in another township, in another
county → the answer keeps outsiders out (403/404/405, never the row, never a 500); and every
list, page or API, shows only rows inside the caller's area (read from the rows themselves).

A new URL is covered without anyone listing it; a new URL whose arguments this module does
not know how to fill fails the test until it is taught (``KINDS``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import Area, AreaLevel, Notification, NotificationKind, Role
from accounts.tokens import token_issue
from households.models import Helper
from households.models_imports import ImportJob
from monitoring.models import AssistanceMeasure, QualityFinding, QualityRule, Visit
from monitoring.services import clues, points
from monitoring.services.alerts import alerts_receive
from monitoring.services.calls import call_raise
from reports.frozen import freeze_month
from reports.models import ExportJob
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

#: Not object or list URLs of the product: the admin (its own test), sign-in, the language
#: switch, the API's schema and docs (public), the format-suffix twins of the API's routes.
SKIP = re.compile(r"^(admin/|i18n/|accounts/log(in|out)/|api/v1/(schema|docs|redoc)/|healthz$|readyz$)")
#: URL name → the kind of object its ``pk`` names (``person_pk``: a member of that household).
KINDS = {
    "households:edit": "household",
    "households:member_add": "household",
    "households:member_edit": "household",
    "households:income": "household",
    "monitoring:clue_report": "household",
    "monitoring:household_detail": "household",
    "monitoring:household_card": "household",
    "monitoring:visit_create": "household",
    "monitoring:visit_list": "household",
    "monitoring:household_points": "household",
    "monitoring:helper_detail": "helper",
    "household-detail": "household",
    "person-detail": "person",
    "monitoring:clue_detail": "clue",
    "monitoring:clue_match": "clue",
    "monitoring:clue_dismiss": "clue",
    "monitoring:clue_open": "clue",
    "clue-detail": "clue",
    "clue-dismiss": "clue",
    "clue-match": "clue",
    "clue-open-case": "clue",
    "monitoring:case_detail": "case",
    "monitoring:case_act": "case",
    "monitoring:case_notice": "case",
    "monitoring:case_rescore": "case",
    "monitoring:case_photo_upload": "case",
    "monitoring:case_photo": "case",
    "monitoring:case_plan": "case",
    "monitoring:case_exit": "case",
    "case-detail": "case",
    "case-actions": "case",
    "case-photos": "case",
    "visit-detail": "visit",
    "measure-detail": "measure",
    "department-alert-detail": "alert",
    "department-task-detail": "task",
    "department-task-complete": "task",
    "department-task-start": "task",
    "monitoring:notification_go": "notification",
    "token-detail": "token",
    "token-revoke": "token",
    "token-rotate": "token",
    "monitoring:call_raise": "household",
    "monitoring:call_detail": "call",
    "monitoring:call_acknowledge": "call",
    "monitoring:call_close": "call",
    "call-detail": "call",
    "call-acknowledge": "call",
    "call-close": "call",
    "reports:frozen_detail": "frozen",
    "households:import_detail": "import_job",
    "households:import_errors": "import_job",
    "import-detail": "import_job",
    "households:import_apply": "import_job",
    "import-apply": "import_job",
    "monitoring:quality_resolve": "finding",
    "quality-finding-detail": "finding",
    "reports:export_progress": "export",
    "reports:export_file": "export",
    "export-detail": "export",
    "export-file": "export",
    # a ledger's name, not an object: each caller's own rows (the lists' test reads them)
    "reports:ledger": "ledger",
    "reports:ledger_counts": "ledger",
    "reports:ledger_print": "ledger",
    "ledger-rows": "ledger",
}
KNOWN_KWARGS = {"pk", "person_pk", "prefix", "ledger"}
#: kinds that belong to a person rather than an area: the caller's own, and a stranger's
PERSONAL = ("notification", "token", "export")
#: What an outsider may get: refused, not found, or a method the URL does not take.
OUTSIDE_OK = {403, 404, 405}
ROLES = ("cadre", "helper", "township", "county", "operator", "department")
PLACES = ("inside", "other_township", "other_county")


@dataclass(frozen=True)
class Route:
    route: str
    name: str
    kwargs: tuple[str, ...]

    def url(self, values: dict) -> str:
        path = self.route
        for key, value in values.items():
            path = re.sub(rf"<(?:\w+:)?{key}>|\(\?P<{key}>[^)]*\)", str(value), path)
        path = path.replace("^", "").replace("$", "")
        return "/" + path


def routes() -> list[Route]:
    found = []

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if SKIP.match(route.replace("^", "")) or "(?P<format>" in route:
                    continue
                kwargs = tuple(p.pattern.regex.groupindex)
                found.append(Route(route, f"{namespace}{p.name or ''}", kwargs))

    walk(get_resolver().url_patterns)
    return found


def test_every_url_argument_is_known_to_the_matrix():
    unknown = [r for r in routes() if set(r.kwargs) - KNOWN_KWARGS or (r.kwargs and r.name not in KINDS)]
    assert not unknown, f"teach the access matrix these URLs (KINDS / KNOWN_KWARGS): {unknown}"


# --- the county, its neighbour, and one of everything in three places --------------------------


@dataclass
class Place:
    area: Area
    household: object
    person: object
    clue: object
    case: object
    visit: object
    measure: object
    alert: object
    task: object
    marker: str
    #: a frozen month of the place's county (another month for the other township's place)
    frozen: object = None
    #: an import job started in the place's township (the county's for the other county)
    import_job: object = None
    #: a data-quality finding on the place's household
    finding: object = None
    #: a helper living in the place's village (named by the marker)
    helper: object = None
    #: an emergency call in progress for the place's household
    call: object = None


def _place(village: Area, tag: str, *, department_user, helper) -> Place:
    marker = f"界标{tag}户主"
    hh = hf.household(village, members=2)
    head = hh.members.order_by("id").first()
    head.name = marker
    head.save(update_fields=["name"])
    clue = clues.clue_create(
        actor=None,
        channel="self_report",
        found_date=timezone.localdate(),
        risk_type_codes=["01"],
        household=hh,
    )
    monitored = hf.household(village, members=1)
    case = mf.case(monitored, identified_on=timezone.localdate() - dt.timedelta(days=20))
    measure = AssistanceMeasure.objects.create(
        case=case,
        measure=mf.measure("M0501"),
        department=mf.department("medical_insurance"),
        status="planned",
    )
    visit = Visit.objects.create(
        household=hh, area_code=hh.area_code, helper=helper, visited_on=timezone.localdate()
    )
    result = alerts_receive(
        actor=department_user,
        department=mf.department("medical_insurance"),
        items=[
            {
                "external_id": f"X-{tag}",
                "id_number": head.id_number,
                "name": head.name,
                "risk_type": "01",
                "found_date": timezone.localdate().isoformat(),
            }
        ],
    )
    alert = clue.__class__.objects.get(pk=result[0]["id"])
    now = timezone.now()
    import_job = ImportJob.objects.create(
        layout="own", file_name=f"{marker}.xlsx", area_code=village.parent.code, message=marker
    )
    finding = QualityFinding.objects.create(
        rule=QualityRule.objects.filter(county__isnull=True).order_by("code").first(),
        household=hh,
        area_code=hh.area_code,
        first_found_at=now,
        last_found_at=now,
    )
    # motivation points: the village's ledger names the head and the reason
    points.points_award(
        actor=None,
        household=hh,
        conduct_code="C01",
        awarded_on=timezone.localdate(),
        reason=marker,
        panel="甲、乙",
        now=now,
    )
    resident = Helper.objects.create(
        name=marker, county=village.parent.parent, village=village, phone="13800000000"
    )
    call, _created = call_raise(actor=None, household=hh, note=marker, now=now)
    return Place(
        village,
        hh,
        head,
        clue,
        clue.case,
        visit,
        measure,
        alert,
        measure,
        marker,
        import_job=import_job,
        finding=finding,
        helper=resident,
        call=call,
    )


def _export_job(user, key: str) -> ExportJob:
    now = timezone.now()
    return ExportJob.objects.create(
        user=user,
        kind="ordinary",
        params={},
        params_key=key,
        created_at=now,
        expires_at=now + dt.timedelta(hours=1),
    )


@pytest.fixture
def world(areas):
    city = areas["city"]
    c2 = af.area("130728000000", "邻县", AreaLevel.COUNTY, city)
    t3 = af.area("130728100000", "邻镇", AreaLevel.TOWNSHIP, c2)
    v31 = af.area("130728100201", "邻村", AreaLevel.VILLAGE, t3)
    dept = mf.department_user("medical_insurance", areas["county"], username="medical")
    dept_c2 = mf.department_user("medical_insurance", c2, username="medical_c2")
    helper_login = af.user(Role.HELPER, username="helper")
    helper = hf.helper(areas["county"], helper_login)
    places = {
        "inside": _place(areas["v11"], "内", department_user=dept, helper=helper),
        "other_township": _place(areas["v21"], "邻镇", department_user=dept, helper=helper),
        "other_county": _place(v31, "邻县", department_user=dept_c2, helper=hf.helper(c2, None)),
    }
    hf.assign(helper_login, places["inside"].household, timezone.localdate() - dt.timedelta(days=30))
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    month_before = last_month.replace(day=1) - dt.timedelta(days=1)
    for name, county, month in (
        ("inside", areas["county"], last_month),
        ("other_township", areas["county"], month_before),
        ("other_county", c2, last_month),
    ):
        places[name].frozen = freeze_month(
            county=county, year=month.year, month=month.month, actor=None, now=timezone.now()
        )
    users = {
        "cadre": af.user(Role.VILLAGE_CADRE, areas["v11"], username="cadre"),
        "helper": helper_login,
        "township": af.user(Role.TOWNSHIP_REVIEWER, areas["t1"], username="township"),
        "county": af.user(Role.COUNTY_APPROVER, areas["county"], username="county"),
        "operator": af.user(Role.OPERATOR, areas["county"], username="operator"),
        "department": dept,
    }
    stranger = af.user(Role.COUNTY_APPROVER, c2, username="stranger")
    own = {}
    for role, user in users.items():
        own[role] = {
            "notification": Notification.objects.create(
                recipient=user,
                key=f"k-{role}",
                kind=NotificationKind.DUE_SOON,
                title="t",
                created_at=timezone.now(),
            ),
            "token": token_issue(actor=user, name="mine")[0] if role != "department" else None,
            "export": _export_job(user, f"mine-{role}"),
        }
    others = {
        "notification": Notification.objects.create(
            recipient=stranger,
            key="k-x",
            kind=NotificationKind.DUE_SOON,
            title="t",
            created_at=timezone.now(),
        ),
        "token": token_issue(actor=stranger, name="theirs")[0],
        "export": _export_job(stranger, "theirs"),
    }
    return {"places": places, "users": users, "own": own, "others": others}


def _covers(role: str, place: str) -> bool:
    """Whether the role's own area (or assignment) holds the place's rows."""
    return {
        "cadre": place == "inside",
        "helper": place == "inside",
        "township": place == "inside",
        "county": place in ("inside", "other_township"),
        "operator": place in ("inside", "other_township"),
        "department": place in ("inside", "other_township"),
    }[role]


def _target(route: Route, kind: str, place: Place | None, role: str, world) -> tuple[dict, bool, str]:
    """The URL arguments, whether the object is the caller's to see, and a text only it shows."""
    if kind == "ledger":
        return {"ledger": "key_monitoring"}, True, ""
    if kind in PERSONAL:
        obj = world["own"][role][kind] if place is None else world["others"][kind]
        if obj is None:  # a department account holds no personal token: use a stranger's
            obj, place = world["others"][kind], "x"
        key = {"prefix": obj.prefix} if kind == "token" else {"pk": obj.pk}
        marker = {"notification": getattr(obj, "key", ""), "token": getattr(obj, "name", "")}.get(kind, "")
        return key, place is None, marker
    obj = getattr(place, kind)
    values = {"prefix": obj.prefix} if kind == "token" else {"pk": obj.pk}
    if "person_pk" in route.kwargs:
        values["person_pk"] = place.person.pk
    return values, False, place.marker


def matrix(world) -> list[tuple]:
    cells = []
    for route in routes():
        if not route.kwargs:
            continue
        kind = KINDS[route.name]
        for role in ROLES:
            if kind == "ledger":
                cells.append((route, kind, role, None))
            elif kind in PERSONAL:
                cells.append((route, kind, role, None))
                cells.append((route, kind, role, "other_county"))
            else:
                for place in PLACES:
                    cells.append((route, kind, role, place))
    return cells


def _may_see(role: str, kind: str, place_name: str | None) -> bool:
    if place_name is None:
        return True  # the caller's own notification or token
    if kind in PERSONAL:
        return False
    if kind == "frozen":  # a county's month: its readers in the county (their part of the rows)
        return role in ("cadre", "township", "county", "operator") and place_name != "other_county"
    if kind == "import_job":  # operators and county approvers of the job's area
        return role in ("county", "operator") and place_name != "other_county"
    if kind == "helper":  # the county's staff who read the helpers' loads (not helpers, departments)
        return role in ("cadre", "township", "county", "operator") and _covers(role, place_name)
    if kind == "finding":  # the area's staff who resolve findings (not helpers, not departments)
        return role in ("cadre", "township", "county", "operator") and _covers(role, place_name)
    department_kind = kind in ("alert", "task")
    if role == "department":
        return department_kind and _covers(role, place_name)
    if department_kind:
        return False
    return _covers(role, place_name)  # a helper: the households assigned to them, and their rows


def test_outsiders_never_reach_a_row_and_nothing_answers_500(world):
    clients = {}
    for role, user in world["users"].items():
        clients[role] = Client()
        clients[role].force_login(user)
    leaks, errors, counted, reached = [], [], 0, 0
    for route, kind, role, place_name in matrix(world):
        place = world["places"].get(place_name) if place_name else None
        values, own, marker = _target(route, kind, place if place_name else None, role, world)
        url = route.url(values)
        allowed = _may_see(role, kind, place_name)
        for method in ("get", "post"):
            counted += 1
            response = getattr(clients[role], method)(url)
            status = response.status_code
            if status >= 500:
                errors.append(f"{role} {method.upper()} {url} → {status}")
                continue
            if allowed:
                reached += status in (200, 302)
                continue
            body = response.content.decode(errors="replace") if status != 302 else ""
            if status not in OUTSIDE_OK or (marker and marker in body):
                leaks.append(f"{role} {method.upper()} {url} ({kind} in {place_name}) → {status}")
    assert not errors, "\n".join(errors)
    assert not leaks, "\n".join(leaks)
    # the matrix is real: hundreds of cells, and the insiders do get through
    assert counted > 1000 and reached > 100, (counted, reached)


def test_anonymous_callers_are_sent_to_sign_in_or_refused(world):
    client = Client()
    for route in routes():
        if route.kwargs:
            kind = KINDS[route.name]
            values, _own, _marker = _target(route, kind, world["places"]["inside"], "county", world)
        else:
            values = {}
        url = route.url(values)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if url.startswith("/api/"):
                assert response.status_code in (401, 403), (method, url, response.status_code)
            else:
                assert response.status_code in (302, 403, 405), (method, url, response.status_code)
                if response.status_code == 302:
                    assert response["Location"].startswith("/accounts/login/"), (method, url)


# --- lists: only rows of the caller's area -------------------------------------------------------


def test_every_list_shows_only_rows_inside_the_callers_area(world):
    lists = [r for r in routes() if not r.kwargs and r.name not in ("accounts:token_action",)]
    markers = {name: place.marker for name, place in world["places"].items()}
    numbers = {name: place.household.number for name, place in world["places"].items()}
    checked = shown = 0
    for role, user in world["users"].items():
        client = Client()
        client.force_login(user)
        for route in lists:
            url = route.url({})
            response = client.get(url, {"page_size": 500} if url.startswith("/api/") else {})
            assert response.status_code < 500, (role, url, response.status_code)
            if response.status_code != 200 or "spreadsheet" in response.get("Content-Type", ""):
                continue
            body = response.content.decode(errors="replace")
            for name in PLACES:
                checked += 1
                visible = markers[name] in body or numbers[name] in body
                shown += visible
                if visible and not _covers(role, name):
                    pytest.fail(f"{role} sees a row of {name} on {url}")
    assert checked > 100 and shown > 10, (checked, shown)
