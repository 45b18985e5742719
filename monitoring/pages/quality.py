"""/quality/: the data-quality findings (疑点) of the user's area, counted per rule, listed
with the households, marked fixed or explained, exported as a workbook. The run itself is the
``data_quality`` task (nightly, and "run now" on /runs/)."""

from __future__ import annotations

import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from accounts.errors import ServiceError, ValidationError
from accounts.models import SecurityEventKind
from accounts.security import security_event
from monitoring.models import FindingStatus, QualityFinding, QualityRule
from monitoring.services import quality

from .common import paginate, query_without_page, staff_page


def _require_role(user) -> None:
    if not user.has_role(*quality.RESOLVE_ROLES):
        raise PermissionDenied(_("您的角色不使用此页面。"))


def _findings(request):
    rows = QualityFinding.objects.for_user(request.user)
    rule = (request.GET.get("rule") or "")[:20]
    status = request.GET.get("status") or ""
    if rule:
        rows = rows.filter(rule__code=rule)
    if status in FindingStatus.values:
        rows = rows.filter(status=status)
    return rows, rule, status


@staff_page
def quality_findings(request):
    _require_role(request.user)
    rows, rule, status = _findings(request)
    visible = QualityFinding.objects.for_user(request.user)
    per_rule = (
        visible.order_by()
        .values("rule__code")
        .annotate(
            open=Count("pk", filter=Q(status=FindingStatus.OPEN)),
            fixed=Count("pk", filter=Q(status=FindingStatus.FIXED)),
            explained=Count("pk", filter=Q(status=FindingStatus.EXPLAINED)),
        )
    )
    counts = {row["rule__code"]: row for row in per_rule}
    rules = []
    for r in QualityRule.objects.filter(county__isnull=True).order_by("code"):
        rules.append({"rule": r, **counts.get(r.code, {"open": 0, "fixed": 0, "explained": 0})})
    page = paginate(
        request,
        rows.select_related("rule", "household", "household__head").order_by("rule__code", "area_code", "id"),
    )
    return render(
        request,
        "monitoring/quality.html",
        {
            "rules": rules,
            "page": page,
            "rule": rule,
            "status": status,
            "statuses": FindingStatus.choices,
            "query": query_without_page(request),
        },
    )


@staff_page
@require_POST
def quality_resolve(request, pk: int):
    _require_role(request.user)
    finding = get_object_or_404(QualityFinding.objects.for_user(request.user), pk=pk)
    try:
        quality.finding_resolve(
            actor=request.user,
            finding=finding,
            status=request.POST.get("status", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, "；".join(m for v in exc.message_dict.values() for m in v))
    except ServiceError as exc:
        raise PermissionDenied(str(exc)) from None
    else:
        messages.success(request, _("已保存疑点的处理结果。"))
    back = request.POST.get("back", "")
    return redirect(f"/quality/?{back}" if back and "//" not in back else "/quality/")


@staff_page
def quality_export(request):
    _require_role(request.user)
    rows, _rule, _status = _findings(request)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("数据质量疑点"))
    sheet.append(
        [
            _("规则编号"),
            _("涉及字段"),
            _("疑点说明"),
            _("户编号"),
            _("户主"),
            _("区划代码"),
            _("状态"),
            _("说明"),
            _("首次发现"),
            _("最近发现"),
        ]
    )
    query = rows.select_related("rule", "household", "household__head").order_by(
        "rule__code", "area_code", "id"
    )
    for f in query.iterator(chunk_size=2000):
        sheet.append(
            [
                f.rule.code,
                f.rule.columns,
                f.rule.display_message,
                f.household.number,
                f.household.head.name if f.household.head else "",
                f.area_code,
                f.get_status_display(),
                f.note,
                timezone.localtime(f.first_found_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(f.last_found_at).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    security_event(SecurityEventKind.EXPORT, request=request, user=request.user, what="quality_findings")
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="quality-{timezone.localdate():%Y%m%d}.xlsx"'
    return response
