"""Pages of the periodic work: each person's notifications, the task runs (and starting one on
demand), the annual screening's progress and visit tasks, and the year-end assessment list.

Every list page makes the same number of queries whatever the number of rows: one count and
one page of rows, plus a fixed number of small reads (area names, choices). Filters are plain
GET forms; a value that is not one of the choices is reported above the list and ignored.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, CharField, Count, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Concat, Substr
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import ServiceError, ValidationError
from accounts.models import Area, AreaLevel, Notification, Role, area_prefix_q
from accounts.notifications import notification_read
from accounts.texts import join_list
from config.forms import PageForm, already_submitted, remember_submitted, style
from monitoring.county import settings_for
from monitoring.models import (
    ExitAssessment,
    ReviewRuleCode,
    RunStatus,
    ScreeningCampaign,
    TaskName,
    TaskRun,
    VisitTask,
)
from monitoring.rules import deadlines
from monitoring.services.runs import may_start, run_request
from monitoring.services.screening import window
from monitoring.services.year_end import SOURCE as YEAR_END_SOURCE
from monitoring.services.year_end import priority_q

from .common import error_status, paginate, query_without_page, show_error, staff_page

logger = logging.getLogger(__name__)

RUN_ROLES = (Role.OPERATOR, Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER)
YEAR_END_ROLES = (Role.COUNTY_APPROVER, Role.TOWNSHIP_REVIEWER, Role.VILLAGE_CADRE)
#: Who works through the screening's visit tasks (the others see the progress only).
SCREENING_TASK_ROLES = (Role.VILLAGE_CADRE, Role.HELPER)
#: At most this many notifications are marked read by one request naming them.
MAX_IDS = 200
HOME_NOTIFICATIONS = 8


# --- shared --------------------------------------------------------------------------------------


def local_path(url: str | None) -> str | None:
    """``url`` if it is a path on this site ("/…"), else ``None`` (never an open redirect)."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    if not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return None
    return url


def _filters(form: forms.Form) -> tuple[dict, list[str]]:
    """The valid values of a bound GET form, and a message for each value it refused."""
    if not form.is_bound:
        return {}, []
    form.is_valid()
    errors = []
    for name, field_errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in field_errors:
            errors.append(f"{label}：{error}" if label else str(error))
    return form.cleaned_data, errors


class FilterForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["invalid_choice"] = gettext_lazy("“%(value)s”不是可选的值，已忽略。")


def _area_names(codes) -> dict[str, str]:
    codes = sorted({c for c in codes if c})
    if not codes:
        return {}
    return dict(Area.objects.filter(code__in=codes).values_list("code", "name"))


# --- notifications -------------------------------------------------------------------------------

NOTIFICATION_TABS = {"all": gettext_lazy("全部"), "unread": gettext_lazy("未读")}


class NotificationFilterForm(FilterForm):
    show = forms.ChoiceField(
        label=gettext_lazy("显示"), required=False, choices=[("", ""), *NOTIFICATION_TABS.items()]
    )


def unread_for_home(user) -> list[Notification]:
    """The user's latest unread notifications (one query)."""
    return list(
        Notification.objects.filter(recipient=user)
        .unread()
        .order_by("-created_at", "-id")[:HOME_NOTIFICATIONS]
    )


@login_required
@require_GET
def notification_list(request):
    values, errors = _filters(NotificationFilterForm(request.GET or None))
    show = values.get("show") or "all"
    rows = Notification.objects.filter(recipient=request.user)
    if show == "unread":
        rows = rows.unread()
    page = paginate(request, rows.order_by("-created_at", "-id"))
    return render(
        request,
        "monitoring/periodic/notifications.html",
        {
            "page": page,
            "show": show,
            "tabs": list(NOTIFICATION_TABS.items()),
            "filter_errors": errors,
            "query": query_without_page(request),
            "here": request.get_full_path(),
        },
    )


def _parse_ids(values: list[str]) -> list[int] | None:
    """Notification ids from the form (``None`` if any is not a plain number)."""
    ids = []
    for value in values:
        value = (value or "").strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            return None
        ids.append(int(value))
    return ids


@login_required
@require_POST
def notifications_read(request):
    """Mark the named notifications (``ids``) read, or all of the user's when none is named."""
    back = local_path(request.POST.get("next")) or reverse("monitoring:notifications")
    if "ids" in request.POST:
        ids = _parse_ids(request.POST.getlist("ids"))
        if not ids or len(ids) > MAX_IDS:
            messages.error(request, _("所选提醒无效，未作更改。"))
            return redirect(back)
        count = notification_read(user=request.user, ids=ids)
    else:
        count = notification_read(user=request.user)
    if count:
        messages.success(
            request, ngettext("已将%(n)s条提醒标为已读。", "已将%(n)s条提醒标为已读。", count) % {"n": count}
        )
    else:
        messages.info(request, _("没有需要标为已读的提醒。"))
    return redirect(back)


@login_required
@require_GET
def notification_go(request, pk: int):
    """Mark the notification read and open what it is about (a path on this site only)."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        notification_read(user=request.user, ids=[notification.pk])
    target = local_path(notification.url)
    if target is None:
        messages.info(request, _("该提醒没有可打开的链接，已标为已读。"))
        return redirect("monitoring:notifications")
    return HttpResponseRedirect(target)


# --- task runs -----------------------------------------------------------------------------------

COUNT_LABELS = {
    "counties": gettext_lazy("县数"),
    "households": gettext_lazy("农户数"),
    "candidates": gettext_lazy("候选"),
    "clues": gettext_lazy("新增线索"),
    "already_raised": gettext_lazy("已有线索"),
    "under_open_case": gettext_lazy("已有在办案件"),
    "by_rule": gettext_lazy("按规则"),
    "no_line_years": gettext_lazy("缺少监测线的年度（未比对收入）"),
    "no_line": gettext_lazy("缺少监测线（县:年度，未比对收入）"),
    "steps_due_soon": gettext_lazy("步骤临期"),
    "steps_overdue": gettext_lazy("步骤超期"),
    "cases_due_soon": gettext_lazy("识别临期"),
    "cases_overdue": gettext_lazy("识别超期"),
    "exits_due_soon": gettext_lazy("消除临期"),
    "exits_overdue": gettext_lazy("消除超期"),
    "notifications": gettext_lazy("发出提醒"),
    "breaches": gettext_lazy("新增超期记录"),
    "escalated": gettext_lazy("逐级督办"),
    "overdue": gettext_lazy("走访逾期"),
    "without_measures": gettext_lazy("未落实措施"),
    "assessed": gettext_lazy("评估户数"),
    "eligible": gettext_lazy("符合消除条件"),
    "not_eligible": gettext_lazy("暂不符合"),
    "campaigns_opened": gettext_lazy("新开排查"),
    "tasks": gettext_lazy("新增走访任务"),
    "done_already": gettext_lazy("已走访（任务即完成）"),
    "counties_in_window": gettext_lazy("处于排查期的县"),
    "year": gettext_lazy("年度"),
    "month": gettext_lazy("月份"),
    "frozen": gettext_lazy("封存县数"),
    "already_frozen": gettext_lazy("已封存（跳过）"),
}
STATUS_BADGES = {
    RunStatus.RUNNING: "text-bg-primary",
    RunStatus.SUCCEEDED: "text-bg-success",
    RunStatus.FAILED: "text-bg-danger",
    RunStatus.SKIPPED: "text-bg-secondary",
}


def _rule_label(code: str) -> str:
    return str(ReviewRuleCode(code).label) if code in ReviewRuleCode.values else str(code)


def _plain(value) -> str:
    if isinstance(value, dict):
        return join_list((f"{k} {_plain(v)}" for k, v in value.items()), "，", ", ") or "0"
    if isinstance(value, list | tuple):
        return join_list(_plain(v) for v in value)
    return str(value)


def count_rows(counts) -> list[tuple[str, str]]:
    """A run's counts as (label, value) pairs, in Chinese; unknown keys as they are."""
    if not counts:
        return []
    if not isinstance(counts, dict):
        return [("", _plain(counts))]
    out = []
    for key, value in counts.items():
        label = str(COUNT_LABELS.get(key, key))
        if key == "by_rule" and isinstance(value, dict):
            if not value:
                continue
            value = join_list((f"{_rule_label(code)} {n}" for code, n in value.items()), "；", "; ")
        out.append((label, _plain(value)))
    return out


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, int(round(seconds)))
    if seconds < 1:
        return _("不到1秒")
    if seconds < 60:
        return _("%(s)s秒") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)s分%(s)s秒") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)s小时%(m)s分") % {"h": hours, "m": minutes}


def _runs_only(user) -> None:
    if not user.has_role(*RUN_ROLES):
        raise PermissionDenied(_("运行记录由系统管理员、县级审定人员和乡镇审核人员查看。"))


def task_choices(user) -> list[tuple[str, str]]:
    """The tasks the user may start on demand."""
    return [(task, str(TaskName(task).label)) for task in TaskName.values if may_start(user, task)]


def area_choices(user) -> list:
    """The county, townships and villages of the user's scope, one group per township (and
    "全部" first for superusers, whose runs may cover the whole deployment)."""
    rows = (
        Area.objects.for_user(user)
        .filter(level__in=[AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE])
        .order_by("code")
        .values_list("code", "name", "level", "parent__name")
    )
    top: list = []
    if user.is_superuser:
        top.append(("", _("全部（所有县）")))
    groups: dict[str, tuple[str, list]] = {}
    for code, name, level, parent in rows:
        if level == AreaLevel.COUNTY:
            top.append((code, _("%(n)s（全县）") % {"n": name}))
        elif level == AreaLevel.TOWNSHIP:
            groups.setdefault(code[:9], (name, []))[1].append((code, _("%(n)s（全镇）") % {"n": name}))
        else:
            groups.setdefault(code[:9], (parent or "", []))[1].append((code, name))
    return [*top, *[(label, items) for label, items in groups.values()]]


class RunStartForm(PageForm):
    task = forms.ChoiceField(
        label=gettext_lazy("任务"),
        error_messages={
            "required": gettext_lazy("请选择任务。"),
            "invalid_choice": gettext_lazy("请从列表中选择您可以运行的任务。"),
        },
    )
    area_code = forms.ChoiceField(
        label=gettext_lazy("范围"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("请从列表中选择您工作范围内的区域。")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["task"].choices = [("", "---------"), *task_choices(user)]
        areas = area_choices(user)
        if not user.is_superuser:
            if areas and not self.is_bound:  # the widest area of the user's first
                first = areas[0][1][0][0] if isinstance(areas[0][1], list) else areas[0][0]
                self.fields["area_code"].initial = first
            areas = [("", "---------"), *areas]
        self.fields["area_code"].choices = areas

    def clean_area_code(self) -> str:
        code = self.cleaned_data.get("area_code") or ""
        if not code and not self.user.is_superuser:
            raise forms.ValidationError(_("请选择区域。"))
        return code


class RunFilterForm(FilterForm):
    task = forms.ChoiceField(
        label=gettext_lazy("任务"),
        required=False,
        choices=[("", gettext_lazy("全部任务")), *TaskName.choices],
    )
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("全部状态")), *RunStatus.choices],
    )


def _runs_context(request, start_form: RunStartForm) -> dict:
    user = request.user
    values, errors = _filters(RunFilterForm(request.GET or None))
    filter_form = style(RunFilterForm(initial=values))
    runs = TaskRun.objects.for_user(user).select_related("triggered_by")
    if values.get("task"):
        runs = runs.filter(task=values["task"])
    if values.get("status"):
        runs = runs.filter(status=values["status"])
    page = paginate(request, runs.order_by("-started_at", "-id"))
    names = _area_names(run.area_code for run in page.object_list)
    show_errors = user.has_role(Role.OPERATOR)
    for run in page.object_list:
        run.area_name = names.get(run.area_code, "")
        run.count_rows = count_rows(run.counts)
        run.duration_text = duration_text(run.duration_seconds)
        run.badge = STATUS_BADGES.get(run.status, "text-bg-light border")
        run.error_shown = run.error if show_errors else ""
    return {
        "page": page,
        "filter_form": filter_form,
        "filter_errors": errors,
        "form": start_form,
        "can_start": bool(task_choices(user)),
        "query": query_without_page(request),
    }


@staff_page
@require_GET
def run_list(request):
    _runs_only(request.user)
    form = RunStartForm(user=request.user)
    return render(request, "monitoring/periodic/runs.html", _runs_context(request, form))


@staff_page
@require_POST
def run_start(request):
    """Start a task now over an area of the user's (``run_request`` checks who may)."""
    user = request.user
    _runs_only(user)
    form = RunStartForm(request.POST, user=user)
    done = already_submitted(request, form.submitted_token())
    if done is not None:
        return done
    status = 200
    url = reverse("monitoring:runs")
    if form.is_valid():
        task, area_code = form.cleaned_data["task"], form.cleaned_data["area_code"]
        label = str(TaskName(task).label)
        area = _area_names([area_code]).get(area_code, area_code) if area_code else _("全部")
        try:
            run_request(actor=user, task=task, area_code=area_code)
        except (ValidationError, ServiceError) as exc:
            show_error(form, exc)
            status = error_status(exc)
        except Exception:
            # Without a broker the task runs in this request; its run record keeps the error.
            logger.exception("on-demand run of %s over %r failed", task, area_code)
            remember_submitted(request, form.submitted_token(), url)
            messages.error(
                request, _("「%(task)s」（%(area)s）运行失败，详见运行记录。") % {"task": label, "area": area}
            )
            return redirect(url)
        else:
            remember_submitted(request, form.submitted_token(), url)
            messages.success(
                request,
                _("已提交「%(task)s」（%(area)s），运行完成后结果显示在运行记录中。")
                % {"task": label, "area": area},
            )
            return redirect(url)
    return render(request, "monitoring/periodic/runs.html", _runs_context(request, form), status=status)


# --- screening -----------------------------------------------------------------------------------


def _counties(user) -> list[Area]:
    """The counties the user works in (a helper: also the county of their helper record)."""
    counties = Area.objects.filter(level=AreaLevel.COUNTY)
    if user.sees_everything:
        return list(counties.order_by("code"))
    q = area_prefix_q("code", [p[:6] for p in user.scope_prefixes()])
    if user.role == Role.HELPER:
        q |= Q(helpers__user=user)
    return list(counties.filter(q).distinct().order_by("code"))


def _year_choices(years) -> list[tuple[str, str]]:
    return [(str(y), _("%(y)s年") % {"y": y}) for y in years]


class YearForm(FilterForm):
    year = forms.ChoiceField(label=gettext_lazy("年度"), required=False)

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = _year_choices(years)


def _by_township(user) -> bool:
    """County-level users see the progress by township, the others by village."""
    return user.sees_everything or any(len(p) <= 6 for p in user.scope_prefixes())


def _progress(tasks, *, by_township: bool, today) -> tuple[list[dict], dict]:
    """Done / total / overdue per village (or township), in one aggregate query."""
    if by_township:
        tasks = tasks.annotate(
            group=Concat(Substr("area_code", 1, 9), Value("000"), output_field=CharField())
        )
    else:
        tasks = tasks.annotate(group=F("area_code"))
    rows = list(
        tasks.order_by()
        .values("group")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(visit__isnull=False)),
            overdue=Count("pk", filter=Q(visit__isnull=True, due_date__lt=today)),
        )
        .order_by("group")
    )
    names = _area_names(r["group"] for r in rows)
    for row in rows:
        row["name"] = names.get(row["group"], row["group"])
        row["percent"] = round(100 * row["done"] / row["total"]) if row["total"] else 0
    total = {k: sum(r[k] for r in rows) for k in ("total", "done", "overdue")}
    total["percent"] = round(100 * total["done"] / total["total"]) if total["total"] else 0
    return rows, total


def _upcoming(counties: list[Area], campaigns: list[ScreeningCampaign], year: int, today) -> list[dict]:
    """This year's screening window of each county that has no campaign yet."""
    opened = {c.county_id for c in campaigns}
    out = []
    for county in counties:
        if county.pk in opened:
            continue
        start, end = window(year, settings_for(county.code))
        state = "coming" if today < start else ("open" if today <= end else "past")
        out.append(
            {"county": county, "start": start, "end": end, "days": (end - start).days + 1, "state": state}
        )
    return out


@staff_page
@require_GET
def screening(request):
    user = request.user
    today = deadlines.local_date(timezone.now())
    counties = _counties(user)
    opened = set(
        ScreeningCampaign.objects.filter(county__in=counties)
        .order_by()
        .values_list("year", flat=True)
        .distinct()
    )
    years = sorted(opened | {today.year}, reverse=True)
    values, errors = _filters(YearForm(request.GET or None, years=years))
    # the latest year with a campaign, else this year
    year = int(values["year"]) if values.get("year") else max(opened, default=today.year)
    year_form = style(YearForm(initial={"year": str(year)}, years=years))
    campaigns = list(
        ScreeningCampaign.objects.filter(county__in=counties, year=year).select_related("county")
    )
    upcoming = _upcoming(counties, campaigns, today.year, today) if year == today.year else []
    context = {
        "year": year,
        "year_form": year_form,
        "filter_errors": errors,
        "counties": counties,
        "campaigns": campaigns,
        "upcoming": upcoming,
        "today": today,
        "by_township": _by_township(user),
        "shows_tasks": user.has_role(*SCREENING_TASK_ROLES) and not user.is_superuser,
    }
    if campaigns:
        tasks = VisitTask.objects.for_user(user).filter(campaign__in=campaigns)
        context["rows"], context["total"] = _progress(tasks, by_township=context["by_township"], today=today)
        if context["shows_tasks"]:
            open_tasks = (
                tasks.open()
                .select_related("household__head", "household__village")
                .order_by("due_date", "area_code", "id")
            )
            page = paginate(request, open_tasks)
            for task in page.object_list:
                task.is_overdue = task.due_date < today
            context["page"] = page
            context["query"] = query_without_page(request)
    return render(request, "monitoring/periodic/screening.html", context)


# --- year-end assessment -------------------------------------------------------------------------

ELIGIBLE_CHOICES = [
    ("", gettext_lazy("全部")),
    ("yes", gettext_lazy("符合")),
    ("no", gettext_lazy("暂不符合")),
]


class YearEndFilterForm(YearForm):
    eligible = forms.ChoiceField(label=gettext_lazy("是否符合"), required=False, choices=ELIGIBLE_CHOICES)
    priority = forms.ChoiceField(
        label=gettext_lazy("重点户"),
        required=False,
        choices=[("", gettext_lazy("全部")), ("yes", gettext_lazy("仅看有劳动能力、监测超过一年的户"))],
    )
    village = forms.ChoiceField(label=gettext_lazy("村"), required=False)

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = [("", _("全部村")), *villages]


def _villages(user) -> list[tuple[str, str]]:
    rows = (
        Area.objects.for_user(user)
        .filter(level=AreaLevel.VILLAGE)
        .order_by("code")
        .values_list("code", "name", "parent__name")
    )
    return [(code, f"{parent} · {name}" if parent else name) for code, name, parent in rows]


def failing_checks(checks) -> list[dict]:
    """The criteria an assessment fails (label and detail), robust to odd stored JSON."""
    if not isinstance(checks, list):
        return []
    out = []
    for c in checks:
        if not isinstance(c, dict) or c.get("ok"):
            continue
        shown = ((c.get("i18n") or {}).get(translation.get_language() or "") or {}) or c
        out.append(
            {
                "label": shown.get("label") or c.get("label") or c.get("code") or "",
                "detail": shown.get("detail", c.get("detail")) or "",
            }
        )
    return out


def _year_end_only(user) -> None:
    if not user.has_role(*YEAR_END_ROLES):
        raise PermissionDenied(_("年终评估结果由县级审定人员、乡镇审核人员和村干部查看。"))


@staff_page
@require_GET
def year_end(request):
    user = request.user
    _year_end_only(user)
    today = deadlines.local_date(timezone.now())
    base = ExitAssessment.objects.filter(source=YEAR_END_SOURCE)
    if not user.sees_everything:
        base = base.filter(area_prefix_q("case__area_code", user.scope_prefixes()))
    present = [d.year for d in base.dates("assessed_on", "year", order="DESC")]
    years = present or [today.year]
    villages = _villages(user)
    values, errors = _filters(YearEndFilterForm(request.GET or None, years=years, villages=villages))
    year = int(values["year"]) if values.get("year") else years[0]
    shown = {
        "year": str(year),
        "eligible": values.get("eligible", ""),
        "village": values.get("village", ""),
        "priority": values.get("priority", ""),
    }
    form = style(YearEndFilterForm(initial=shown, years=years, villages=villages))
    rows = base.filter(assessed_on__year=year)
    if values.get("village"):
        rows = rows.filter(case__area_code=values["village"])
    summary = rows.aggregate(
        total=Count("pk"),
        eligible=Count("pk", filter=Q(eligible=True)),
        priority=Count("pk", filter=priority_q()),
    )
    summary["not_eligible"] = summary["total"] - summary["eligible"]
    if values.get("eligible"):
        rows = rows.filter(eligible=values["eligible"] == "yes")
    if values.get("priority"):
        rows = rows.filter(priority_q())
    rows = rows.annotate(priority=ExpressionWrapper(priority_q(), output_field=BooleanField()))
    rows = rows.select_related("case__household__head", "case__household__village").order_by(
        "case__area_code", "case__household__number", "id"
    )
    page = paginate(request, rows)
    for assessment in page.object_list:
        assessment.failing = [] if assessment.eligible else failing_checks(assessment.checks)
    return render(
        request,
        "monitoring/periodic/year_end.html",
        {
            "page": page,
            "year": year,
            "has_any": bool(present),
            "form": form,
            "filter_errors": errors,
            "summary": summary,
            "query": query_without_page(request),
        },
    )
