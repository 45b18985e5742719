"""The pages of the periodic work with the test client: notifications (list, mark read, open),
the nav badge and the home card, task runs (list, scoping, starting one on demand), the annual
screening's progress and visit tasks, and the year-end assessment list.

Each page is tried for every role (allowed or refused), for scoping (nobody sees another
county's rows), for bad input (a message or a 404, never a 500) and for a query count that
does not grow with the rows.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AreaLevel, Department, Notification, NotificationKind, Role
from households import services as household_services
from monitoring.county import settings_for
from monitoring.models import (
    ExitAssessment,
    ExitMode,
    RunStatus,
    ScreeningCampaign,
    TaskName,
    TaskRun,
    VisitTask,
)
from monitoring.rules import deadlines
from monitoring.services import visits
from monitoring.services.screening import window
from tests.accounts import factories as af
from tests.households import factories as hf
from tests.monitoring import factories as mf

NOW = timezone.now()
TODAY = deadlines.local_date(NOW)
PAGES = ["/notifications/", "/runs/", "/screening/", "/year-end/"]


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


def body(response) -> str:
    return response.content.decode()


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def other(areas):
    """Another county of the same city, with its approver, reviewer and village cadre."""
    county = af.area("130728000000", "怀安县", AreaLevel.COUNTY, areas["city"])
    township = af.area("130728100000", "柴沟堡镇", AreaLevel.TOWNSHIP, county)
    village = af.area("130728100201", "五村", AreaLevel.VILLAGE, township)
    return {
        "county": county,
        "township": township,
        "village": village,
        "approver": af.user(Role.COUNTY_APPROVER, county, username="approver2"),
        "cadre": af.user(Role.VILLAGE_CADRE, village, username="cadre2"),
    }


@pytest.fixture
def department_user(areas):
    return af.user(
        Role.DEPARTMENT, areas["county"], department=Department.objects.get(code="education"), username="edu"
    )


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


# --- data ----------------------------------------------------------------------------------------

_n = iter(range(1, 100000))


def note(user, *, url="/cases/", read=False, minutes_ago=0, title=None, kind=NotificationKind.OVERDUE):
    n = next(_n)
    return Notification.objects.create(
        recipient=user,
        key=f"test:{n}",
        kind=kind,
        title=title or f"提醒{n}",
        body="请尽快办理",
        url=url,
        created_at=NOW - dt.timedelta(minutes=minutes_ago),
        read_at=NOW if read else None,
    )


def run(task=TaskName.RISK_REVIEW, area_code="", *, status=RunStatus.SUCCEEDED, counts=None, error=""):
    started = NOW - dt.timedelta(minutes=next(_n))
    return TaskRun.objects.create(
        task=task,
        area_code=area_code,
        status=status,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=75) if status != RunStatus.RUNNING else None,
        as_of=started,
        counts=counts or {},
        error=error,
    )


def campaign(county, *, year=None, start=None):
    start = start or days(-10)
    return ScreeningCampaign.objects.create(
        county=county,
        year=year or TODAY.year,
        start_date=start,
        end_date=start + dt.timedelta(days=29),
        created_at=NOW,
    )


def visit_task(camp, village, due: dt.date, *, household=None):
    hh = household or hf.household(village)
    return VisitTask.objects.create(campaign=camp, household=hh, area_code=hh.area_code, due_date=due)


FAILING = [
    {
        "code": "income",
        "label": "收入稳定超过监测线",
        "ok": False,
        "detail": "人均纯收入7,000.00元低于8,800.00元",
    },
    {"code": "guarantees", "label": "两不愁三保障及饮水安全", "ok": True, "detail": ""},
]
PASSING = [{"code": "income", "label": "收入稳定超过监测线", "ok": True, "detail": ""}]


def assessment(village, *, eligible=True, year=None, source="year_end"):
    case = mf.case(hf.household(village), identified_on=days(-400))
    return ExitAssessment.objects.create(
        case=case,
        mode=ExitMode.ASSISTANCE,
        source=source,
        assessed_on=dt.date(year or TODAY.year, 1, 1) if year else TODAY,
        checks=PASSING if eligible else FAILING,
        eligible=eligible,
    )


# --- every page: who may open it -----------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_goes_to_the_login_page(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("cadre", {"/notifications/": 200, "/runs/": 403, "/screening/": 200, "/year-end/": 200}),
        ("helper", {"/notifications/": 200, "/runs/": 403, "/screening/": 200, "/year-end/": 403}),
        ("reviewer", {"/notifications/": 200, "/runs/": 200, "/screening/": 200, "/year-end/": 200}),
        ("approver", {"/notifications/": 200, "/runs/": 200, "/screening/": 200, "/year-end/": 200}),
        ("operator", {"/notifications/": 200, "/runs/": 200, "/screening/": 200, "/year-end/": 403}),
        ("department", {"/notifications/": 200, "/runs/": 403, "/screening/": 403, "/year-end/": 403}),
    ],
)
def test_each_role_opens_the_pages_it_may_use(
    login, who, expected, cadre, helper_user, township_reviewer, county_approver, operator, department_user
):
    user = {
        "cadre": cadre,
        "helper": helper_user,
        "reviewer": township_reviewer,
        "approver": county_approver,
        "operator": operator,
        "department": department_user,
    }[who]
    client = login(user)
    assert {url: client.get(url).status_code for url in PAGES} == expected


@pytest.mark.parametrize(
    ("who", "links"),
    [
        ("cadre", {"/notifications/", "/screening/", "/year-end/"}),
        ("helper", {"/notifications/", "/screening/"}),
        ("reviewer", {"/notifications/", "/screening/", "/year-end/", "/runs/"}),
        ("approver", {"/notifications/", "/screening/", "/year-end/", "/runs/"}),
        ("operator", {"/notifications/", "/screening/", "/runs/"}),
    ],
)
def test_the_nav_links_the_pages_of_the_role(
    login, who, links, cadre, helper_user, township_reviewer, county_approver, operator
):
    user = {
        "cadre": cadre,
        "helper": helper_user,
        "reviewer": township_reviewer,
        "approver": county_approver,
        "operator": operator,
    }[who]
    html = body(login(user).get("/notifications/"))
    nav = html[html.index('id="mainnav"') : html.index("</nav>")]
    assert {url for url in PAGES if f'href="{url}"' in nav} == links


# --- notifications -------------------------------------------------------------------------------


def test_notifications_are_the_users_own_newest_first_unread_highlighted(login, cadre, county_approver):
    old = note(cadre, minutes_ago=30, title="旧的提醒", read=True)
    new = note(cadre, minutes_ago=1, title="新的提醒")
    note(county_approver, title="别人的提醒")
    response = login(cadre).get("/notifications/")
    assert response.status_code == 200
    assert [n.pk for n in response.context["page"].object_list] == [new.pk, old.pk]
    html = body(response)
    assert "别人的提醒" not in html
    assert f'id="notification-{new.pk}"' in html
    unread_item = html[
        html.index(f'id="notification-{new.pk}"') - 200 : html.index(f'id="notification-{new.pk}"')
    ]
    assert "notification-unread" in unread_item
    assert f'href="/notifications/{new.pk}/go/"' in html
    assert 'id="nav-unread-count">1<' in html


def test_the_unread_filter_and_a_garbage_filter(login, cadre):
    read = note(cadre, read=True)
    unread = note(cadre)
    client = login(cadre)
    response = client.get("/notifications/?show=unread")
    assert [n.pk for n in response.context["page"].object_list] == [unread.pk]
    response = client.get("/notifications/?show=<script>&page=abc")
    assert response.status_code == 200
    assert "已忽略" in body(response) and "<script>" not in body(response)
    assert {n.pk for n in response.context["page"].object_list} == {read.pk, unread.pk}


def test_mark_one_read_then_all(login, cadre, county_approver):
    first, second, third = note(cadre), note(cadre), note(cadre)
    others = note(county_approver)
    client = login(cadre)
    response = client.post("/notifications/read/", {"ids": [first.pk, others.pk]})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    first.refresh_from_db(), others.refresh_from_db()
    assert first.read_at is not None
    assert others.read_at is None  # someone else's id is ignored
    response = client.post("/notifications/read/", {"next": "/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "已将2条提醒标为已读" in body(response)
    assert not Notification.objects.filter(recipient=cadre).unread().exists()
    assert Notification.objects.filter(pk__in=[second.pk, third.pk], read_at__isnull=False).count() == 2


@pytest.mark.parametrize(
    "data",
    [{"ids": "abc"}, {"ids": ""}, {"ids": ["1", "x"]}, {"ids": "１２"}, {"ids": "9" * 40}, {"ids": "-3"}],
)
def test_garbage_ids_change_nothing_and_say_so(login, cadre, data):
    unread = note(cadre)
    response = login(cadre).post("/notifications/read/", data, follow=True)
    assert response.status_code == 200
    assert "所选提醒无效" in body(response)
    unread.refresh_from_db()
    assert unread.read_at is None


def test_mark_read_is_post_only_and_next_must_be_local(login, cadre):
    client = login(cadre)
    assert client.get("/notifications/read/").status_code == 405
    note(cadre)
    response = client.post("/notifications/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(login, cadre):
    item = note(cadre, url="/cases/?queue=mine")
    response = login(cadre).get(f"/notifications/{item.pk}/go/")
    assert response.status_code == 302
    assert response["Location"] == "/cases/?queue=mine"
    item.refresh_from_db()
    assert item.read_at is not None


def test_someone_elses_or_an_unknown_notification_is_a_404(login, cadre, county_approver):
    theirs = note(county_approver)
    client = login(cadre)
    assert client.get(f"/notifications/{theirs.pk}/go/").status_code == 404
    assert client.get("/notifications/999999/go/").status_code == 404
    assert client.get("/notifications/99999999999999999999999/go/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "cases/",
        "",
        "/\x01x",  # a control character (PostgreSQL cannot even store NUL)
    ],
)
def test_a_link_off_the_site_is_never_followed(login, cadre, url):
    item = note(cadre, url=url)
    response = login(cadre).get(f"/notifications/{item.pk}/go/")
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    item.refresh_from_db()
    assert item.read_at is not None


def test_home_shows_the_latest_8_unread_and_the_nav_the_count(login, cadre):
    note(cadre, title="已读的提醒", read=True)
    items = [note(cadre, minutes_ago=i, title=f"未读提醒{i:02d}") for i in range(10)]
    response = login(cadre).get("/")
    assert [n.pk for n in response.context["notifications"]] == [n.pk for n in items[:8]]
    html = body(response)
    assert 'id="home-notifications"' in html
    assert "未读提醒07" in html and "未读提醒08" not in html and "已读的提醒" not in html
    assert 'id="nav-unread-count">10<' in html
    assert 'href="/notifications/"' in html
    # on a phone the menu is collapsed: the count also sits beside the menu button
    assert 'id="phone-unread-count" href="/notifications/?show=unread">' in html


def test_no_card_and_no_badge_without_unread(login, cadre):
    note(cadre, read=True)
    html = body(login(cadre).get("/"))
    assert 'id="home-notifications"' not in html
    assert 'id="nav-unread-count"' not in html
    assert 'id="phone-unread-count"' not in html


def test_the_login_page_needs_no_count(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        assert client.get("/accounts/login/").status_code == 200


def test_notification_list_queries_do_not_grow(login, cadre, django_assert_max_num_queries):
    client = login(cadre)
    for i in range(5):
        note(cadre, minutes_ago=i, read=i % 2 == 0)
    client.get("/notifications/")
    with CaptureQueriesContext(connection) as five:
        client.get("/notifications/")
    for i in range(30):
        note(cadre, minutes_ago=10 + i, read=i % 2 == 0)
    with django_assert_max_num_queries(len(five)):
        response = client.get("/notifications/")
    assert len(response.context["page"].object_list) == 25


# --- task runs -----------------------------------------------------------------------------------


def test_runs_are_scoped_to_the_users_areas(
    login, areas, township_reviewer, county_approver, operator, other
):
    everywhere = run(area_code="")
    county = run(area_code=areas["county"].code)
    mine = run(area_code=areas["v11"].code)
    township2 = run(area_code=areas["t2"].code)
    elsewhere = run(area_code=other["county"].code)

    def seen(user):
        return {r.pk for r in login(user).get("/runs/").context["page"].object_list}

    assert seen(county_approver) == {everywhere.pk, county.pk, mine.pk, township2.pk}
    assert seen(township_reviewer) == {everywhere.pk, county.pk, mine.pk}
    assert seen(other["approver"]) == {everywhere.pk, elsewhere.pk}
    assert seen(operator) == {everywhere.pk, county.pk, mine.pk, township2.pk, elsewhere.pk}


def test_a_run_row_is_readable(login, areas, county_approver, operator):
    counts = {
        "households": 120,
        "clues": 3,
        "by_rule": {"income_below": 2, "guarantee_housing": 1},
        "mystery_key": 7,
    }
    run(area_code=areas["t1"].code, counts=counts)
    run(TaskName.DEADLINE_WATCH, status=RunStatus.FAILED, error="Traceback: boom-secret")
    html = body(login(county_approver).get("/runs/"))
    assert "风险复核" in html and "办理时限监测" in html
    assert "西城镇" in html and "130727100000" in html
    assert "全部" in html
    assert "农户数" in html and "120" in html and "新增线索" in html
    assert "人均纯收入低于监测线 2" in html and "住房安全出现问题 1" in html
    assert "mystery_key" in html
    assert "用时1分15秒" in html
    assert "失败" in html and "已完成" in html
    assert "boom-secret" not in html  # errors are for operators
    assert "boom-secret" in body(login(operator).get("/runs/"))


def test_runs_filter_by_task_and_garbage_filters(login, county_approver):
    review = run(TaskName.RISK_REVIEW)
    run(TaskName.VISIT_WATCH)
    client = login(county_approver)
    rows = client.get("/runs/?task=risk_review").context["page"].object_list
    assert [r.pk for r in rows] == [review.pk]
    response = client.get("/runs/?task=drop_tables&status=%00&page=-1")
    assert response.status_code == 200
    assert 'id="filter-errors"' in body(response)
    assert len(response.context["page"].object_list) == 2


def test_the_start_form_offers_only_what_the_user_may_start(login, areas, township_reviewer, operator):
    form = login(township_reviewer).get("/runs/").context["form"]
    tasks = {value for value, _label in form.fields["task"].choices if value}
    assert tasks == {
        TaskName.RISK_REVIEW,
        TaskName.VISIT_WATCH,
        TaskName.MEASURE_WATCH,
        TaskName.DASHBOARD_FIGURES,
        TaskName.DATA_QUALITY,
        TaskName.HOUSEHOLD_SCORES,
    }
    codes = {value for value, _label in flat(form.fields["area_code"].choices)}
    assert areas["t1"].code in codes and areas["v11"].code in codes
    assert areas["county"].code not in codes and areas["t2"].code not in codes
    assert "全部（所有县）" not in body(login(township_reviewer).get("/runs/"))  # "all" is for operators
    form = login(operator).get("/runs/").context["form"]
    assert {value for value, _label in form.fields["task"].choices if value} == set(TaskName.values)
    codes = {value for value, _label in flat(form.fields["area_code"].choices)}
    assert "" in codes and areas["county"].code in codes


def test_a_county_approver_starts_a_risk_review(
    login, areas, county_approver, django_capture_on_commit_callbacks
):
    hf.household(areas["v11"])
    client = login(county_approver)
    token = client.get("/runs/").context["form"]["token"].value()
    data = {"task": TaskName.RISK_REVIEW, "area_code": areas["county"].code, "token": token}
    with django_capture_on_commit_callbacks(execute=True):  # the run starts after the commit
        response = client.post("/runs/start/", data)
    assert response.status_code == 302 and response["Location"] == "/runs/"
    html = body(client.get("/runs/"))
    assert "已提交「风险复核」（阳原县）" in html
    (done,) = TaskRun.objects.all()
    assert done.status == RunStatus.SUCCEEDED and done.triggered_by == county_approver
    assert done.area_code == areas["county"].code
    assert done.counts["households"] == 1
    assert f'data-run="{done.pk}"' in html and "已完成" in html
    # the same form sent again (a double tap) starts nothing more
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/runs/start/", data)
    assert TaskRun.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "data", "message"),
    [
        ("approver", {"task": "drop_tables", "area_code": "130727000000"}, "请从列表中选择您可以运行的任务"),
        ("approver", {"task": "", "area_code": "130727000000"}, "请选择任务"),
        (
            "approver",
            {"task": "risk_review", "area_code": "130728000000"},
            "请从列表中选择您工作范围内的区域",
        ),
        (
            "approver",
            {"task": "risk_review", "area_code": "130000000000"},
            "请从列表中选择您工作范围内的区域",
        ),
        ("approver", {"task": "risk_review", "area_code": ""}, "请选择区域"),
        ("approver", {"task": "risk_review", "area_code": "x' OR 1=1"}, "请从列表中选择您工作范围内的区域"),
        (
            "reviewer",
            {"task": "deadline_watch", "area_code": "130727100000"},
            "请从列表中选择您可以运行的任务",
        ),
        (
            "reviewer",
            {"task": "risk_review", "area_code": "130727000000"},
            "请从列表中选择您工作范围内的区域",
        ),
        ("approver", {}, "请选择任务"),
    ],
)
def test_bad_start_requests_are_refused_with_a_message(
    login, who, data, message, county_approver, township_reviewer, other, django_capture_on_commit_callbacks
):
    user = county_approver if who == "approver" else township_reviewer
    with django_capture_on_commit_callbacks(execute=True):
        response = login(user).post("/runs/start/", data)
    assert response.status_code == 200
    assert message in body(response)
    assert not TaskRun.objects.exists()
    form = response.context["form"]
    assert form.fields["task"].choices  # the choices are kept


def test_a_service_refusal_shows_in_the_form(
    login, areas, county_approver, monkeypatch, django_capture_on_commit_callbacks
):
    from monitoring.services import runs as runs_service

    monkeypatch.setitem(runs_service.ON_DEMAND, "risk_review", ("township_reviewer",))
    monkeypatch.setattr("monitoring.pages.periodic.task_choices", lambda user: [("risk_review", "风险复核")])
    response = login(county_approver).post(
        "/runs/start/", {"task": "risk_review", "area_code": areas["county"].code}
    )
    assert response.status_code == 403
    assert "您无权手动运行该任务" in body(response)
    assert not TaskRun.objects.exists()


def test_a_run_that_fails_in_process_gives_a_message_not_a_500(login, areas, county_approver, monkeypatch):
    """Without a broker the task runs inside the request (autocommit: on_commit runs at once)."""

    def boom(**kwargs):
        raise RuntimeError("review exploded")

    monkeypatch.setattr("monitoring.services.review.risk_review", boom)
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())
    client = login(county_approver)
    response = client.post("/runs/start/", {"task": "risk_review", "area_code": areas["county"].code})
    assert response.status_code == 302 and response["Location"] == "/runs/"
    (failed,) = TaskRun.objects.all()
    assert failed.status == RunStatus.FAILED and "review exploded" in failed.error
    html = body(client.get("/runs/"))
    assert "运行失败" in html and "review exploded" not in html  # the error text is for operators


def test_the_area_select_starts_at_the_users_widest_area(login, areas, county_approver, township_reviewer):
    assert login(county_approver).get("/runs/").context["form"]["area_code"].value() == areas["county"].code
    assert login(township_reviewer).get("/runs/").context["form"]["area_code"].value() == areas["t1"].code


def test_run_start_is_post_only_and_for_run_roles(login, cadre, county_approver):
    assert login(county_approver).get("/runs/start/").status_code == 405
    assert login(cadre).post("/runs/start/", {"task": "risk_review"}).status_code == 403


def test_run_list_queries_do_not_grow(login, areas, county_approver, django_assert_max_num_queries):
    client = login(county_approver)
    codes = [areas["county"].code, areas["t1"].code, areas["v11"].code, ""]
    for i in range(5):
        run(area_code=codes[i % 4], counts={"households": i, "by_rule": {"income_below": i}})
    client.get("/runs/")
    with CaptureQueriesContext(connection) as five:
        client.get("/runs/")
    for i in range(30):
        run(area_code=codes[i % 4], counts={"households": i})
    with django_assert_max_num_queries(len(five)):
        response = client.get("/runs/")
    assert len(response.context["page"].object_list) == 25


# --- screening -----------------------------------------------------------------------------------


@pytest.fixture
def screening(areas, other, helper_user, cadre):
    camp = campaign(areas["county"])
    mine_late = visit_task(camp, areas["v11"], days(-2))
    mine_later = visit_task(camp, areas["v11"], days(5))
    mine_done = visit_task(camp, areas["v11"], days(-5))
    visits.visit_record(actor=cadre, household=mine_done.household, visited_on=TODAY)
    v12 = visit_task(camp, areas["v12"], days(-1))
    v21 = visit_task(camp, areas["v21"], days(3))
    helper = helper_user.helper_profile
    household_services.helper_assign(actor=None, helper=helper, household=v21.household, start_date=days(-30))
    elsewhere = visit_task(campaign(other["county"]), other["village"], days(-3))
    return {
        "campaign": camp,
        "late": mine_late,
        "later": mine_later,
        "done": mine_done,
        "v12": v12,
        "v21": v21,
        "elsewhere": elsewhere,
    }


def test_a_village_cadre_sees_their_villages_progress_and_open_tasks(login, areas, cadre, screening):
    screening["done"].refresh_from_db()
    assert screening["done"].visit_id is not None  # the visit completed the task
    response = login(cadre).get("/screening/")
    assert response.status_code == 200
    ctx = response.context
    assert [r["group"] for r in ctx["rows"]] == [areas["v11"].code]
    assert ctx["total"] == {"total": 3, "done": 1, "overdue": 1, "percent": 33}
    assert [t.pk for t in ctx["page"].object_list] == [screening["late"].pk, screening["later"].pk]
    html = body(response)
    late = screening["late"].household
    assert f'href="/households/{late.pk}/visit/"' in html
    assert late.number in html and late.head.name in html
    row = html[html.index(f'data-task="{screening["late"].pk}"') :][:900]
    assert "overdue" in row and "已逾期" in row
    assert screening["v12"].household.number not in html


def test_a_helper_sees_the_tasks_of_their_households(login, helper_user, screening):
    response = login(helper_user).get("/screening/")
    assert [t.pk for t in response.context["page"].object_list] == [screening["v21"].pk]


def test_a_township_reviewer_sees_progress_by_village_without_the_task_list(
    login, areas, township_reviewer, screening
):
    response = login(township_reviewer).get("/screening/")
    ctx = response.context
    assert [(r["name"], r["done"], r["total"], r["overdue"]) for r in ctx["rows"]] == [
        ("一村", 1, 3, 1),
        ("二村", 0, 1, 1),
    ]
    assert "page" not in ctx
    assert 'id="screening-tasks"' not in body(response)


def test_a_county_approver_sees_progress_by_township_of_their_county_only(
    login, areas, county_approver, other, screening
):
    response = login(county_approver).get("/screening/")
    ctx = response.context
    assert [(r["group"], r["name"], r["total"]) for r in ctx["rows"]] == [
        (areas["t1"].code, "西城镇", 4),
        (areas["t2"].code, "东城镇", 1),
    ]
    assert ctx["total"]["overdue"] == 2
    assert [c.county for c in ctx["campaigns"]] == [areas["county"]]
    assert "五村" not in body(response) and "怀安县" not in body(response)
    assert [r["name"] for r in login(other["approver"]).get("/screening/").context["rows"]] == ["柴沟堡镇"]


def test_no_campaign_yet_says_when_this_years_screening_starts(login, areas, cadre):
    response = login(cadre).get("/screening/")
    assert response.status_code == 200
    start, end = window(TODAY.year, settings_for(areas["county"].code))
    html = body(response)
    assert start.isoformat() in html and end.isoformat() in html
    assert "集中排查" in html
    assert response.context["campaigns"] == []


def test_an_older_year_can_be_chosen_and_garbage_years_are_refused(login, areas, cadre):
    old = campaign(areas["county"], year=TODAY.year - 1, start=days(-400))
    visit_task(old, areas["v11"], days(-380))
    client = login(cadre)
    response = client.get(f"/screening/?year={TODAY.year - 1}")
    assert response.context["year"] == TODAY.year - 1
    assert response.context["total"]["overdue"] == 1
    # by default: the latest year with a campaign, and this year's start is announced
    response = client.get("/screening/")
    assert response.context["year"] == TODAY.year - 1
    assert response.context["upcoming"] == []
    for bad in ("abc", "1999", "99999999999999999999", "%00", "2026.5"):
        response = client.get(f"/screening/?year={bad}")
        assert response.status_code == 200
        assert 'id="filter-errors"' in body(response)
        assert response.context["year"] == TODAY.year - 1


def test_screening_queries_do_not_grow(login, areas, cadre, county_approver, django_assert_max_num_queries):
    camp = campaign(areas["county"])
    for i in range(5):
        visit_task(camp, areas["v11" if i % 2 else "v21"], days(i - 2))
    for user in (cadre, county_approver):
        client = login(user)
        client.get("/screening/")
        with CaptureQueriesContext(connection) as before:
            client.get("/screening/")
        user.counted = len(before)
    for i in range(30):
        visit_task(camp, areas["v11" if i % 2 else "v22"], days(i - 10))
    for user in (cadre, county_approver):
        client = login(user)
        with django_assert_max_num_queries(user.counted):
            response = client.get("/screening/")
        assert response.status_code == 200
    assert len(login(cadre).get("/screening/").context["page"].object_list) == 17


# --- year-end assessment -------------------------------------------------------------------------


@pytest.fixture
def assessed(areas, other):
    return {
        "v11_ok": assessment(areas["v11"], eligible=True),
        "v11_no": assessment(areas["v11"], eligible=False),
        "v12_no": assessment(areas["v12"], eligible=False),
        "v21_ok": assessment(areas["v21"], eligible=True),
        "village_source": assessment(areas["v11"], eligible=True, source="village"),
        "last_year": assessment(areas["v11"], eligible=True, year=TODAY.year - 1),
        "elsewhere": assessment(other["village"], eligible=False),
    }


def flat(choices) -> list[tuple[str, str]]:
    """(value, label) of a ChoiceField's choices, optgroups opened."""
    out = []
    for value, label in choices:
        out.extend(label if isinstance(label, list | tuple) else [(value, label)])
    return out


def _seen(response) -> set[int]:
    return {a.pk for a in response.context["page"].object_list}


def test_year_end_is_scoped_to_the_users_areas(
    login, cadre, township_reviewer, county_approver, other, assessed
):
    a = assessed
    assert _seen(login(cadre).get("/year-end/")) == {a["v11_ok"].pk, a["v11_no"].pk}
    assert _seen(login(township_reviewer).get("/year-end/")) == {
        a["v11_ok"].pk,
        a["v11_no"].pk,
        a["v12_no"].pk,
    }
    response = login(county_approver).get("/year-end/")
    assert _seen(response) == {a["v11_ok"].pk, a["v11_no"].pk, a["v12_no"].pk, a["v21_ok"].pk}
    assert response.context["summary"] == {"total": 4, "eligible": 2, "not_eligible": 2, "priority": 4}
    assert _seen(login(other["cadre"]).get("/year-end/")) == {a["elsewhere"].pk}


def test_year_end_rows_show_the_failing_criteria_and_link_to_the_exit_page(login, county_approver, assessed):
    html = body(login(county_approver).get("/year-end/?eligible=no"))
    failing = assessed["v11_no"]
    assert f'href="/cases/{failing.case_id}/exit/"' in html
    assert failing.case.household.number in html and failing.case.household.head.name in html
    assert "一村" in html and "边缘易致贫户" in html
    assert "收入稳定超过监测线" in html and "人均纯收入7,000.00元低于8,800.00元" in html
    assert "两不愁三保障及饮水安全" not in html  # passed criteria are not listed
    assert assessed["v21_ok"].case.household.number not in html


def test_year_end_filters(login, areas, county_approver, assessed):
    client = login(county_approver)
    response = client.get(f"/year-end/?eligible=yes&village={areas['v11'].code}")
    assert _seen(response) == {assessed["v11_ok"].pk}
    assert response.context["summary"] == {"total": 2, "eligible": 1, "not_eligible": 1, "priority": 2}
    response = client.get(f"/year-end/?year={TODAY.year - 1}")
    assert _seen(response) == {assessed["last_year"].pk}


@pytest.mark.parametrize(
    "query",
    [
        "?eligible=maybe",
        "?village=130728100201",
        "?village=abc",
        "?year=abc",
        "?year=1900",
        "?page=zz&year=%00",
    ],
)
def test_year_end_garbage_filters_are_reported_and_ignored(login, cadre, assessed, query):
    response = login(cadre).get(f"/year-end/{query}")
    assert response.status_code == 200
    assert 'id="filter-errors"' in body(response) or "page=zz" in query
    assert _seen(response) == {assessed["v11_ok"].pk, assessed["v11_no"].pk}


def test_year_end_without_results_says_so(login, cadre):
    response = login(cadre).get("/year-end/")
    assert response.status_code == 200
    assert 'id="year-end-empty"' in body(response)
    assert response.context["year"] == TODAY.year


def test_year_end_shows_what_the_assessment_service_stored(login, areas, county_approver):
    from monitoring.services.year_end import year_end_assessment

    mf.case(hf.household(areas["v11"]), identified_on=days(-30))
    counts = year_end_assessment(area_code=areas["county"].code)
    assert counts["assessed"] == 1
    response = login(county_approver).get("/year-end/")
    (row,) = response.context["page"].object_list
    assert row.eligible is False  # identified a month ago: too early to exit
    assert row.failing and all(c["label"] for c in row.failing)


def test_year_end_queries_do_not_grow(login, areas, county_approver, django_assert_max_num_queries):
    client = login(county_approver)
    for i in range(5):
        assessment(areas["v11" if i % 2 else "v21"], eligible=i % 3 == 0)
    client.get("/year-end/")
    with CaptureQueriesContext(connection) as five:
        client.get("/year-end/")
    for i in range(30):
        assessment(areas["v12" if i % 2 else "v22"], eligible=i % 3 == 0)
    with django_assert_max_num_queries(len(five)):
        response = client.get("/year-end/")
    assert len(response.context["page"].object_list) == 25


def test_year_end_marks_households_able_to_work_monitored_over_a_year(login, areas, county_approver):
    """Domain §6: able-bodied households still monitored after more than a year are priorities."""
    long_able = assessment(areas["v11"])  # identified 400 days ago, one member able to work
    recent = ExitAssessment.objects.create(
        case=mf.case(hf.household(areas["v11"]), identified_on=days(-300)),
        mode=ExitMode.ASSISTANCE,
        source="year_end",
        assessed_on=TODAY,
        checks=FAILING,
        eligible=False,
    )
    unable = ExitAssessment.objects.create(
        case=mf.case(hf.household(areas["v11"], labour=("lost", "none")), identified_on=days(-400)),
        mode=ExitMode.ASSISTANCE,
        source="year_end",
        assessed_on=TODAY,
        checks=FAILING,
        eligible=False,
    )
    client = login(county_approver)
    response = client.get("/year-end/")
    assert response.context["summary"]["priority"] == 1
    flags = {a.pk: a.priority for a in response.context["page"].object_list}
    assert flags == {long_able.pk: True, recent.pk: False, unable.pk: False}
    assert body(response).count("priority-badge") == 1
    assert _seen(client.get("/year-end/?priority=yes")) == {long_able.pk}
    assert client.get("/year-end/?priority=maybe").status_code == 200
