"""Case pages: the list with its queues, the case page with every action, the printable notice.

The case page posts every action to itself (``/cases/<pk>/``); the form for it is chosen by
the action (and, to complete a step, the step's kind), parsed, and handed to
:func:`monitoring.dispatch.run`, which calls the one service. A refusal re-renders the page, at
the case's own URL (so reloading it or switching the language shows the case), with the
person's input and the service's message next to the field (or on top); a stale page (the case
changed since it was loaded) gets the conflict message and the current state. The older
``/cases/<pk>/act/`` takes the same posts and sends a GET to the case page.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Exists, F, OuterRef, Prefetch, Subquery
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.errors import Conflict, ServiceError, ValidationError
from accounts.models import Role
from accounts.texts import english_active, join_list
from config.forms import add_service_errors, already_submitted, refusal, remember_submitted, style
from households import idnumber, search_terms
from households.api import reveals_identity
from households.models import MonitoringCategory
from monitoring import dispatch
from monitoring.county import settings_for
from monitoring.filters import IDENTIFICATION_STATUSES, CaseFilter
from monitoring.forms import action_form
from monitoring.models import (
    CaseStatus,
    CaseStep,
    IndicatorKind,
    MonitoringCase,
    StatusChange,
    StepKind,
    StepStatus,
)
from monitoring.rules import deadlines
from monitoring.rules import scoring as score_rules
from monitoring.selectors import CaseOption, case_actions, case_deadlines
from monitoring.services import exit_check, scoring
from monitoring.services.assistance import measure_deadline

from .common import (
    OBJECT_LABELS,
    Clock,
    action_label,
    due,
    error_status,
    load_case,
    paginate,
    query_without_page,
    risk_type_names,
    show_error,
    staff_page,
    status_label,
    user_name,
)

# --- the list ----------------------------------------------------------------------------------

QUEUES = {
    "mine": gettext_lazy("待我办理"),
    "township": gettext_lazy("乡镇审核"),
    "approval": gettext_lazy("县级审定"),
    "all": gettext_lazy("全部"),
}


def queues_for(user) -> list[str]:
    if user.is_superuser:
        return ["mine", "township", "approval", "all"]
    names = []
    if user.role in (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER):
        names.append("mine")
    if user.role in (Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER):
        names.append("township")
    if user.role == Role.COUNTY_APPROVER:
        names.append("approval")
    return [*names, "all"]


def queue_queryset(queryset, user, queue: str):
    """Cases with a step open for: me (``mine``), the township review (``township``), the
    county approval (``approval``); ``all``: every case in my area. Queues are ordered by the
    earliest due date of those steps."""
    if queue == "all":
        return queryset.order_by("-opened_at", "-id")
    open_steps = CaseStep.objects.filter(case=OuterRef("pk"), status=StepStatus.AVAILABLE)
    if queue == "mine" and not user.is_superuser:
        open_steps = open_steps.filter(actor_role=user.role)
    elif queue == "township":
        open_steps = open_steps.filter(kind=StepKind.TOWNSHIP_REVIEW)
    elif queue == "approval":
        open_steps = open_steps.filter(kind=StepKind.COUNTY_APPROVAL)
    return (
        queryset.filter(Exists(open_steps))
        .annotate(next_due=Subquery(open_steps.order_by("due_date").values("due_date")[:1]))
        .order_by(F("next_due").asc(nulls_last=True), "id")
    )


def _row_deadline(case: MonitoringCase, clock: Clock):
    if case.status in IDENTIFICATION_STATUSES:
        return _("识别期限"), clock.deadline(case.due_date, case.area_code)
    if case.status == CaseStatus.EXIT_IN_PROGRESS:
        return _("消除期限"), clock.deadline(case.exit_due_date, case.area_code)
    if case.is_open and case.next_visit_due:
        return _("走访期限"), clock.deadline(case.next_visit_due, case.area_code)
    return "", None


@staff_page
def case_list(request):
    if request.method == "POST":
        return search_terms.post_to_get(request)
    query, redirect_to = search_terms.page_query(request)
    if redirect_to is not None:
        return redirect_to
    user = request.user
    names = queues_for(user)
    queue = request.GET.get("queue") or names[0]
    if queue not in names:
        queue = "all"
    queryset = queue_queryset(
        MonitoringCase.objects.for_user(user).select_related("household__head", "household__village"),
        user,
        queue,
    )
    filterset = CaseFilter(query or None, queryset=queryset, request=request)
    style(filterset.form)
    rows = filterset.qs.prefetch_related(
        "risk_types",
        Prefetch(
            "steps",
            queryset=CaseStep.objects.filter(status=StepStatus.AVAILABLE).order_by("sort_order", "id"),
            to_attr="open_steps",
        ),
    )
    page = paginate(request, rows)
    clock = Clock(timezone.now())
    for case in page.object_list:
        case.due_label, case.due_info = _row_deadline(case, clock)
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("queue", None)
    return render(
        request,
        "monitoring/case_list.html",
        {
            "page": page,
            "filterset": filterset,
            "queue": queue,
            "queues": [(name, QUEUES[name]) for name in names],
            "filters_query": params.urlencode(),
            "query": query_without_page(request),
        },
    )


# --- the case page -----------------------------------------------------------------------------

DATA_LABELS = {
    "visited_on": gettext_lazy("入户日期"),
    "visitors": gettext_lazy("核查人员"),
    "authorization_signed": gettext_lazy("承诺授权书"),
    "findings": gettext_lazy("情况"),
    "risk_type_codes": gettext_lazy("风险类型"),
    "held_on": gettext_lazy("评议日期"),
    "attendees": gettext_lazy("参会人数"),
    "votes_for": gettext_lazy("同意"),
    "votes_against": gettext_lazy("反对"),
    "votes_abstain": gettext_lazy("弃权"),
    "minutes": gettext_lazy("评议记录"),
    "opinion": gettext_lazy("意见"),
    "category": gettext_lazy("类别"),
    "explanation": gettext_lazy("情况说明"),
    "note": gettext_lazy("说明"),
    "listen": gettext_lazy("听：农户自述"),
    "assess": gettext_lazy("评：村级评议"),
    "look": gettext_lazy("看：入户所见"),
    "photos": gettext_lazy("照片（张）"),
}


def _data_rows(step: CaseStep) -> list[tuple[str, str]]:
    rows = []
    for key, value in (step.data or {}).items():
        if value in (None, "", []):
            continue
        if key == "risk_type_codes" and isinstance(value, list):
            value = risk_type_names(value)
        if key == "income" and isinstance(value, dict):
            rows.append((str(_("算：测算收入")), income_text(value)))
            continue
        if isinstance(value, list):
            value = join_list(value)
        elif isinstance(value, bool):
            value = _("已签字") if value else _("未签字")
        elif key == "category" and value in MonitoringCategory.values:
            value = MonitoringCategory(value).label
        rows.append((str(DATA_LABELS.get(key, key)), str(value)))
    return rows


def income_text(income: dict) -> str:
    """The calculated income of an exit home check in a line."""
    text = _("%(year)s年家庭纯收入%(net)s元，%(members)s人，人均%(per_capita)s元") % {
        "year": income.get("year"),
        "net": income.get("net_income"),
        "members": income.get("members"),
        "per_capita": income.get("per_capita"),
    }
    if income.get("line"):
        text += _("；%(year)s年监测线%(line)s元") % {"year": income.get("line_year"), "line": income["line"]}
    return text


def form_key(action: str, *, step=None, notice=None, objection=None, measure=None) -> str:
    """The one name of an action's form on the page (its ids start with it)."""
    if measure:
        return f"{action}-m{measure}"
    if objection:
        return f"{action}-o{objection}"
    if notice:
        return f"{action}-n{notice}"
    return f"{action}-s{step or 0}"


def _posted_key(post) -> str:
    def number(name):
        value = (post.get(name) or "").strip()
        return int(value) if value.isdigit() else None

    return form_key(
        post.get("action") or "",
        step=number("step"),
        notice=number("notice") if post.get("action") == "record_objection" else None,
        objection=number("objection") if post.get("action") == "resolve_objection" else None,
        measure=number("measure") if (post.get("action") or "").startswith("measure_") else None,
    )


def _initial(action: str, case: MonitoringCase, step, today, **extra) -> dict:
    initial = {"action": action, "step": step.pk if step else None, "expected_version": case.version}
    if action == "complete" and step is not None:
        if step.kind == StepKind.HOME_VERIFICATION:
            initial["visited_on"] = today
            initial["risk_type_codes"] = [rt.code for rt in case.risk_types.all()]
        elif step.kind == StepKind.VILLAGE_REVIEW:
            initial["held_on"] = today
    elif action == "record_objection":
        initial["raised_on"] = today
    elif action == "measure_complete":
        initial["actual_date"] = today
    elif action == "post_notice":
        initial["start_date"] = today
    initial.update(extra)
    return initial


def _form(key, action, case, step, today, bound, **extra):
    if bound is not None and bound[0] == key:
        return bound[1]
    return action_form(
        action, step=step, initial=_initial(action, case, step, today, **extra), auto_id=f"id_{key}_%s"
    )


#: Case-level actions done on a page of their own: the page links to it.
ACTION_PAGES = {"propose_exit": "monitoring:case_exit", "set_plan": "monitoring:case_plan"}
#: Targets whose id the action's form carries (a step's and the case's go by the step field).
FORM_TARGETS = ("notice", "objection", "measure")


def option_key(option: CaseOption) -> str:
    if option.target in FORM_TARGETS:
        return form_key(option.action, **{option.target: option.target_id})
    return form_key(option.action, step=option.step_id)


def _action_row(option: CaseOption, case: MonitoringCase, steps: dict, today, bound) -> dict:
    """One option as the page shows it: a link, a form (allowed), or disabled with the reason."""
    key = option_key(option)
    row = {**option.as_dict(), "key": key, "step": option.step_id, "step_name": option.subject}
    if option.action in ACTION_PAGES:
        row["url"] = reverse(ACTION_PAGES[option.action], args=[case.pk])
        return row
    if not option.allowed:
        return row
    step = steps.get(option.step_id) if option.target == "step" else None
    extra = {option.target: option.target_id} if option.target in FORM_TARGETS else {}
    row["form"] = _form(key, option.action, case, step, today, bound, **extra)
    row["submit"] = row["form"].submit_label if option.action == "complete" else option.label
    if option.action == "complete" and step is not None and exit_check.is_exit_home_check(step):
        row["home_check"] = {
            "step": step,
            "photos": list(step.photos.all()),
            "income": exit_check.calculated_income(case.household, today=today),
            "max_photos": exit_check.PHOTO_MAX_COUNT,
        }
    return row


def _measure_rows(rows: list[dict], measures: list) -> list[dict]:
    """The measures, each with its options' forms and, when none is allowed, the first reason."""
    result = []
    for am in measures:
        forms = [r for r in rows if r["target"] == "measure" and r["target_id"] == am.pk]
        for f in forms:
            f.setdefault("form", None)
        result.append(
            {
                "measure": am,
                "forms": forms,
                "any_allowed": any(f["allowed"] for f in forms),
                "reason": next((f["reason"] for f in forms if f["reason"]), ""),
            }
        )
    return result


def _actions_context(case, user, *, now, steps, notices, objections, measures, bound) -> dict:
    """The "办理" card, the measures' buttons and the plan link, from :func:`case_actions`."""
    today = deadlines.local_date(now)
    by_id = {s.pk: s for s in steps}
    options = case_actions(case, user, now=now, notices=notices, objections=objections, measures=measures)
    rows = [_action_row(o, case, by_id, today, bound) for o in options]
    context = {
        "step_actions": [r for r in rows if r["target"] == "step"],
        "case_actions": [r for r in rows if r["target"] == "case" and r["action"] != "set_plan"],
        "notice_actions": [r for r in rows if r["target"] == "notice"],
        "objection_actions": [r for r in rows if r["target"] == "objection"],
        "measure_rows": _measure_rows(rows, measures),
        "plan_option": next(r for r in rows if r["action"] == "set_plan"),
        "unplaced_errors": [],
    }
    if bound is not None and not any(r.get("form") is bound[1] for r in rows):
        # the action is not offered any more (or not to this person): say why on top
        context["unplaced_errors"] = [str(m) for errors in bound[1].errors.values() for m in errors]
    return context


def _steps(case: MonitoringCase, now) -> tuple[list[CaseStep], dict]:
    """The case's steps with their deadline, entered data and who did them; and the deadlines."""
    steps = list(case.steps.select_related("completed_by").order_by("id"))
    dues = case_deadlines(case, now=now)
    for s in steps:
        s.due_info = due(dues["steps"][s.pk]) if s.pk in dues["steps"] else None
        s.data_rows = _data_rows(s)
        s.who = user_name(s.completed_by) if s.completed_by_id else ""
    return steps, dues


def _history(case: MonitoringCase, steps, measures) -> list[dict]:
    subjects = {("step", s.pk): s.display_name for s in steps} | {
        ("measure", am.pk): am.measure.display_name for am in measures
    }
    return [
        {
            "at": change.at,
            "who": user_name(change.actor),
            "what": action_label(change.action),
            "subject": subjects.get((change.object_type, change.object_id))
            or OBJECT_LABELS.get(change.object_type, change.object_type),
            "from": status_label(change.object_type, change.from_status),
            "to": status_label(change.object_type, change.to_status),
            "reason": change.reason,
        }
        for change in StatusChange.objects.filter(case=case).select_related("actor").order_by("at", "id")
    ]


def _household_context(case: MonitoringCase, user) -> dict:
    household = case.household
    head = household.head
    reveal = reveals_identity(user)
    return {
        "household": household,
        "head": head,
        "id_number": (head.id_number if reveal else idnumber.mask(head.id_number)) if head else "",
        "phone": household.phone if reveal else household.phone_masked,
        "members": household.members.filter(is_resident=True).count(),
    }


def case_context(request, case: MonitoringCase, *, bound=None) -> dict:
    """Everything the case page shows; ``bound`` = (form key, bound form) after a refusal."""
    now = timezone.now()
    steps, dues = _steps(case, now)
    notices = list(case.notices.select_related("step", "posted_by").order_by("-start_date", "-id"))
    objections = list(case.objections.select_related("notice", "recorded_by", "resolved_by"))
    measures = list(case.measures.select_related("measure__category", "department").order_by("id"))
    clues = case.clues.select_related("department").prefetch_related("risk_types").order_by("found_date")
    return {
        "case": case,
        **_household_context(case, request.user),
        "clues": list(clues),
        "steps": steps,
        "identification_steps": [s for s in steps if s.procedure_kind == "identification"],
        "exit_steps": [s for s in steps if s.procedure_kind == "exit"],
        "case_due": due(dues["case"]),
        "exit_due": due(dues["exit"]),
        "measure_due": due(measure_deadline(case, settings_for(case.area_code), now)),
        **_actions_context(
            case,
            request.user,
            now=now,
            steps=steps,
            notices=notices,
            objections=objections,
            measures=measures,
            bound=bound,
        ),
        "notices": notices,
        "objections": objections,
        "measures": measures,
        "history": _history(case, steps, measures),
        "today": deadlines.local_date(now),
        **score_context(case, request.user),
    }


def score_context(case: MonitoringCase, user) -> dict:
    """The case's score: its lines in the reader's language, the model version it was computed
    with, and whether the reviewer may recompute it (else why not)."""
    reason = scoring.rescore_guard(case)
    if reason is None and not user.has_role(*scoring.RESCORE_ROLES):
        reason = _("您的角色不能办理此事项。")
    current = scoring.model_for(case.area_code)
    return {
        "score_lines": score_lines(case.score_breakdown),
        "score_missing": [line for line in case.score_breakdown if line.get("missing")],
        "score_rescore_reason": reason,
        "score_newer_model": current if current and current.pk != case.score_model_id else None,
    }


def score_lines(breakdown: list[dict]) -> list[dict]:
    """A score breakdown as the pages show it (indicator name, value, band, points, where from)."""
    out = []
    for line in breakdown:
        try:
            name = IndicatorKind(line["kind"]).label
        except ValueError:
            name = line["kind"]
        band = (line.get("band_en") or line.get("band")) if english_active() else line.get("band")
        out.append(
            {
                **line,
                "name": name,
                "band_text": band or "",
                "source_text": score_rules.source_text(line),
                "missing_text": score_rules.missing_text(line),
            }
        )
    return out


@staff_page
@require_POST
def case_photo_upload(request, pk: int):
    """Attach a photo to the case's exit home check (听评看算's "look")."""
    case = load_case(request, pk)
    raw = (request.POST.get("step") or "").strip()
    step = case.steps.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 12 else None
    if step is None:
        messages.error(request, _("请选择步骤。"))
    else:
        try:
            exit_check.step_photo_add(
                actor=request.user,
                step=step,
                upload=request.FILES.get("photo"),
                caption=request.POST.get("caption", ""),
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except ServiceError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("照片已上传。"))
    return redirect(reverse("monitoring:case_detail", args=[case.pk]) + "#actions")


@staff_page
def case_photo(request, pk: int):
    """A photo of the case (``?n=<photo id>``), to people who may see the case."""
    case = load_case(request, pk)
    raw = request.GET.get("n", "")
    photo = case.photos.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 12 else None
    if photo is None:
        raise Http404
    try:
        handle = photo.file.open("rb")
    except OSError:
        raise Http404 from None
    return FileResponse(handle, content_type=photo.content_type)


@staff_page
@require_POST
def case_rescore(request, pk: int):
    """Recompute the case's identification score with the county's current model."""
    case = load_case(request, pk)
    try:
        scoring.case_rescore(actor=request.user, case_id=case.pk)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已重新计算识别评分。"))
    return redirect(reverse("monitoring:case_detail", args=[case.pk]) + "#score")


@staff_page
@require_http_methods(["GET", "POST"])
def case_detail(request, pk: int):
    """The case page; a POST is one of its actions (see :func:`case_act`)."""
    if request.method == "POST":
        return _act(request, pk)
    case = load_case(request, pk)
    return render(request, "monitoring/case_detail.html", case_context(request, case))


DONE_MESSAGES = {
    "complete": gettext_lazy("已办结：%(step)s。"),
    "reject": gettext_lazy("已不予通过：%(step)s。"),
    "return": gettext_lazy("已退回：%(step)s。"),
    "post_notice": gettext_lazy("已发布公示。"),
}


@staff_page
@require_http_methods(["GET", "POST"])
def case_act(request, pk: int):
    """The actions' older address: a post is handled as on the case page; a GET (a reload, the
    language switch, a bookmark) goes to the case page instead of failing."""
    if request.method != "POST":
        load_case(request, pk)  # a case outside the person's area is still a 404
        return redirect("monitoring:case_detail", pk=pk)
    return _act(request, pk)


def _act(request, pk: int):
    """Every action of the case page: parse, call the dispatcher (one service), redirect."""
    case = load_case(request, pk)
    action = request.POST.get("action") or ""
    step = None
    step_id = (request.POST.get("step") or "").strip()
    if step_id:
        if not step_id.isdigit():
            return HttpResponseBadRequest(_("步骤编号不正确。"))
        step = case.steps.filter(pk=int(step_id)).first()
        if step is None:
            raise Http404(_("该步骤不属于此案件。"))
    key = _posted_key(request.POST)
    form = action_form(action, step=step, data=request.POST, auto_id=f"id_{key}_%s")
    if form is None:
        return HttpResponseBadRequest(_("未知的操作。"))
    token = form.submitted_token()
    done = already_submitted(request, token)
    if done is not None:
        return done
    status = 200
    if form.is_valid():
        try:
            dispatch.run(user=request.user, case=case, **form.action_values())
        except Conflict as exc:
            # Show the case as it is now, the person's input kept, to be sent again knowingly.
            data = request.POST.copy()
            data["expected_version"] = str(MonitoringCase.objects.get(pk=case.pk).version)
            form = action_form(action, step=step, data=data, auto_id=f"id_{key}_%s")
            form.is_valid()
            form.add_error(None, exc.message)
            status = 409
        except (ServiceError, ValidationError) as exc:
            show_error(form, exc)
            status = error_status(exc)
        else:
            url = reverse("monitoring:case_detail", args=[case.pk])
            remember_submitted(request, token, url)
            label = DONE_MESSAGES.get(action, _("已办理：%(step)s。"))
            messages.success(request, label % {"step": step.display_name if step else action_label(action)})
            return redirect(url)
    else:  # the service's messages too, in the same round (nothing is written)
        values = form.action_values()
        add_service_errors(form, refusal(lambda: dispatch.run(user=request.user, case=case, **values)))
    case = load_case(request, pk)
    context = case_context(request, case, bound=(key, form))
    context["open_key"] = key
    return render(request, "monitoring/case_detail.html", context, status=status)


# --- the printable notice ----------------------------------------------------------------------


@staff_page
def case_notice(request, pk: int):
    """The notice as posted in the village: no ID number, phone, bank account or health data
    (the text is made that way by :func:`monitoring.services.cases.notice_text`)."""
    case = load_case(request, pk)
    notices = case.notices.order_by("-start_date", "-id")
    wanted = request.GET.get("notice")
    notice = notices.filter(pk=wanted).first() if wanted and wanted.isdigit() else notices.first()
    if notice is None:
        raise Http404(_("该案件尚未发布公示。"))
    village = case.household.village
    return render(
        request,
        "monitoring/case_notice.html",
        {"case": case, "notice": notice, "village": village, "town": village.parent},
    )
