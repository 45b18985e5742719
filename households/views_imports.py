"""The import pages (operators and county people): upload a workbook (dry run first), follow
the job's progress (htmx polling), download the error report, the template and the registry
in the national layout. The work is ``imports.jobs``; these views parse and render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import staff_page
from accounts.errors import NotAllowed, ValidationError
from accounts.models import SecurityEventKind
from accounts.security import security_event

from .imports import jobs
from .models import ImportJob, ImportLayout

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require_import_role(user) -> None:
    if not user.has_role(*jobs.IMPORT_ROLES):
        raise PermissionDenied(_("只有系统管理员和县级用户可以导入数据。"))


def _workbook(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@staff_page
@require_http_methods(["GET", "POST"])
def import_page(request):
    _require_import_role(request.user)
    errors: dict = {}
    layout = request.POST.get("layout", ImportLayout.NATIONAL)
    dry_run = request.method == "GET" or request.POST.get("dry_run") == "on"
    if request.method == "POST":
        try:
            job = jobs.submit(
                actor=request.user,
                request=request,
                upload=request.FILES.get("file"),
                layout=layout,
                dry_run=dry_run,
            )
        except ValidationError as exc:
            errors = {k: "；".join(str(m) for m in v) for k, v in exc.message_dict.items()}
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        else:
            return redirect("households:import_detail", pk=job.pk)
    recent = ImportJob.objects.for_user(request.user).select_related("created_by")[:20]
    return render(
        request,
        "households/imports.html",
        {
            "recent": recent,
            "errors": errors,
            "layouts": ImportLayout.choices,
            "layout": layout,
            "dry_run": dry_run,
        },
        status=400 if errors else 200,
    )


@staff_page
def import_detail(request, pk: int):
    _require_import_role(request.user)
    job = get_object_or_404(ImportJob.objects.for_user(request.user), pk=pk)
    template = (
        "households/imports_progress.html"
        if request.headers.get("HX-Request")
        else "households/imports_detail.html"
    )
    return render(request, template, {"job": job, "errors": job.errors[:200]})


@staff_page
@require_http_methods(["POST"])
def import_apply(request, pk: int):
    """"Import this file": the real run of a file whose dry run passed, without uploading it again."""
    _require_import_role(request.user)
    source = get_object_or_404(ImportJob.objects.for_user(request.user), pk=pk)
    try:
        job = jobs.apply_checked(actor=request.user, source=source, request=request)
    except ValidationError as exc:
        messages.error(request, "；".join(str(m) for v in exc.message_dict.values() for m in v))
        return redirect("households:import_detail", pk=source.pk)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from None
    return redirect("households:import_detail", pk=job.pk)


@staff_page
def import_errors(request, pk: int):
    _require_import_role(request.user)
    job = get_object_or_404(ImportJob.objects.for_user(request.user), pk=pk)
    return _workbook(jobs.error_report(job), f"import-{job.pk}-errors.xlsx")


@staff_page
def import_template(request):
    _require_import_role(request.user)
    return _workbook(jobs.template(), "import-template.xlsx")


@staff_page
def national_export(request):
    _require_import_role(request.user)
    data = jobs.export_national(user=request.user)
    security_event(SecurityEventKind.EXPORT, request=request, user=request.user, what="national_layout")
    return _workbook(data, f"households-{timezone.localdate():%Y%m%d}.xlsx")
