"""Ledger pages: the counts a county reports upward (``/reports/``) and their workbook.

Views parse the query (:class:`reports.forms.CountsQuery`), call one selector and render; the
API (``reports/api.py``) and the export (``reports/exports.py``) call the same selector, so
the screen, the file and the API always agree.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.errors import NotAllowed, ValidationError
from accounts.models import Area, AreaLevel, Role, SecurityEventKind
from accounts.security import security_event
from config.api import COUNT_CAP
from config.db_router import replica_reads
from reports import exports, lists
from reports import selectors as ledgers
from reports.columns import LIST_LABELS, Kind, ListKind, columns_of, default_sort
from reports.forms import APPLIES, AreaIndex, CountsQuery, LedgerQuery
from reports.models import ExportJob, ExportState
from reports.selectors import LEDGER_LABELS, Ledger
from reports.services import exports as export_service

#: Who reads the ledgers on the pages: village cadres for their villages, township and
#: county staff and operators for their areas.
REPORT_ROLES = (Role.VILLAGE_CADRE, Role.TOWNSHIP_REVIEWER, Role.COUNTY_APPROVER, Role.OPERATOR)


def _query(request) -> tuple[CountsQuery, dict]:
    if not request.user.has_role(*REPORT_ROLES):
        raise PermissionDenied(_("您的角色不使用此页面。"))
    query = CountsQuery(request.GET)
    return query, query.selection() if query.is_valid() else CountsQuery.default_selection()


def _area_choices(user) -> list[Area]:
    """Townships and villages the user may narrow to, in code order (one query)."""
    return list(
        Area.objects.for_user(user)
        .filter(level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE])
        .only("code", "name", "level")
        .order_by("code")
    )


@login_required
@replica_reads
def counts(request):
    query, selection = _query(request)
    report = ledgers.counts_report(user=request.user, **selection)
    areas = _area_choices(request.user)
    return render(
        request,
        "reports/counts.html",
        {
            "query": query,
            "report": report,
            "areas": areas,
            "selected_area": selection["area"],
            "selected_year": selection["year"],
        },
    )


@login_required
@replica_reads
def counts_xlsx(request):
    query, selection = _query(request)
    if query.errors:
        return counts(request)
    report = ledgers.counts_report(user=request.user, **selection)
    area = Area.objects.filter(code=selection["area"].ljust(12, "0")).first() if selection["area"] else None
    content = exports.counts_workbook(report, area_name=area.name if area else "")
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"ledger-counts-{selection['area'] or 'all'}-{selection['year']}.xlsx"
    security_event(
        SecurityEventKind.EXPORT,
        request=request,
        user=request.user,
        export="ledger_counts",
        area=selection["area"] or None,
        year=selection["year"],
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the ledger lists -------------------------------------------------------------------------

PAGE_SIZE = 50
#: the longest list a printable village ledger shows (a village has a few hundred households)
PRINT_LIMIT = 2000


class _CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` rows (of the rows' primary keys only, without the columns'
    joins): a page of a county-wide ledger is not held up by counting 300,000 rows. The exact
    counts, by township and village, come with :func:`ledger_counts` (one ``GROUP BY``)."""

    def __init__(self, object_list, per_page, *, count_source):
        super().__init__(object_list, per_page)
        self.count_source = count_source

    @cached_property
    def counted(self) -> int:
        return self.count_source.values("pk")[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.counted > COUNT_CAP

    @property
    def count(self) -> int:
        return min(self.counted, COUNT_CAP)


def _ledger_kind(ledger: str) -> ListKind:
    if ledger not in {str(k) for k in Ledger}:
        raise Http404(_("没有这本台账。"))
    return ListKind(ledger)


def _ledger_query(request, kind: ListKind):
    """The parsed query and its selection; an invalid query shows its errors and no rows (never
    rows that the filters do not describe)."""
    if not lists.may_read(request.user):
        raise PermissionDenied(_("您的角色不使用此页面。"))
    areas = AreaIndex(request.user)
    data = request.GET.copy()
    data.pop("page", None)
    query = LedgerQuery(data, kind=kind, areas=areas)
    selection = query.selection() if query.is_valid() else {"area": "", "none": True}
    return query, areas, selection


#: kinds whose cells are labels in the reader's language; the others are data as stored
#: (names, numbers, free text), marked ``translate="no"``
LABEL_KINDS = (Kind.CHOICE, Kind.DATE, Kind.NUMBER)

DATE_FILTERS = (
    "identified_from",
    "identified_to",
    "eliminated_from",
    "eliminated_to",
    "found_from",
    "found_to",
)


def _headers(request, kind: ListKind, columns, current: str) -> list[dict]:
    """The table's headers: for a sortable column, the address that sorts by it (again: the
    other way) and the direction it is sorted now."""
    current = current or default_sort(kind)
    headers = []
    for column in columns:
        header = {"key": column.key, "header": column.header, "url": "", "direction": ""}
        if column.sortable:
            key = column.key
            now = "asc" if current == key else "desc" if current == f"-{key}" else ""
            query = request.GET.copy()
            query.pop("page", None)
            query["sort"] = f"-{key}" if now == "asc" else key
            header.update(url=f"?{query.urlencode()}", direction=now)
        headers.append(header)
    return headers


@login_required
@replica_reads
def ledger_list(request, ledger: str):
    """One ledger's rows with its filters, sortable columns and pages (the count capped at
    10,000, as the API's lists); the counts by township and village for these filters follow
    from :func:`ledger_counts` (htmx, after the page). A fixed number of queries whatever the
    page or the county."""
    kind = _ledger_kind(ledger)
    query, areas, selection = _ledger_query(request, kind)
    rows = lists.list_rows(kind, user=request.user, selection=selection)
    columns = columns_of(kind)
    paginator = _CappedPaginator(
        rows.values_list(*lists.sources(columns)), PAGE_SIZE, count_source=rows.order_by()
    )
    page = paginator.get_page(request.GET.get("page"))
    shown = lists.read_rows(page.object_list, columns, reveal=False, names=areas.names, display=True)
    return render(
        request,
        "reports/ledger_list.html",
        {
            "kind": kind,
            "title": LIST_LABELS[kind],
            "ledgers": [(str(k), LEDGER_LABELS[k]) for k in Ledger],
            "query": query,
            "areas": areas,
            "columns": columns,
            "rows": [[(row[c.key], c.kind not in LABEL_KINDS) for c in columns] for row in shown],
            "page_obj": page,
            "capped": paginator.capped,
            "cap": COUNT_CAP,
            "headers": _headers(request, kind, columns, selection.get("sort", "")),
            "date_fields": [query[name] for name in DATE_FILTERS if name in APPLIES[kind]],
            "params": query.params() if query.is_valid() else {},
            "export_kind": str(kind),
            "print_village": selection.get("village"),
        },
    )


@login_required
@replica_reads
def ledger_counts(request, ledger: str):
    """The counts of a ledger's rows by township and village for the page's filters (one
    ``GROUP BY``; the townships and the total are its sums): a fragment the page loads."""
    kind = _ledger_kind(ledger)
    _query, areas, selection = _ledger_query(request, kind)
    rows = lists.filtered(kind, lists.base_rows(kind, user=request.user, selection=selection), selection)
    by_village = lists.counts_by_area(rows) if not selection.get("none") else {}
    return render(
        request,
        "reports/_area_counts.html",
        {"total": sum(by_village.values()), "by_township": lists.township_counts(by_village, areas)},
    )


@login_required
@replica_reads
def ledger_print(request, ledger: str):
    """A village's ledger as a printable list (A4) for the village's wall book: every row of the
    village (no pages), masked ID numbers and phones."""
    kind = _ledger_kind(ledger)
    query, areas, selection = _ledger_query(request, kind)
    if not selection.get("village") or selection.get("none"):
        raise Http404(_("请先选择一个村。"))
    columns = columns_of(kind)
    rows = lists.list_rows(kind, user=request.user, selection=selection).values_list(*lists.sources(columns))
    shown = lists.read_rows(rows[:PRINT_LIMIT], columns, reveal=False, names=areas.names, display=True)
    village = selection["area"]
    return render(
        request,
        "reports/ledger_print.html",
        {
            "title": LIST_LABELS[kind],
            "village": areas.names.get(village, village),
            "township": areas.names.get(village[:9].ljust(12, "0"), ""),
            "columns": [c for c in columns if c.kind not in (Kind.TOWNSHIP, Kind.VILLAGE)],
            "rows": [
                [
                    (row[c.key], c.kind not in LABEL_KINDS)
                    for c in columns
                    if c.kind not in (Kind.TOWNSHIP, Kind.VILLAGE)
                ]
                for row in shown
            ],
            "count": len(shown),
            "truncated": len(shown) == PRINT_LIMIT,
            "today": timezone.localdate(),
            "query": query,
        },
    )


# --- exports ----------------------------------------------------------------------------------

RECENT_EXPORTS = 20


def _export_kind(request) -> str:
    return (request.POST.get("kind") or "").strip()


@login_required
@require_http_methods(["GET", "POST"])
def export_list(request):
    """The person's last exports (state, progress, download, the reason of a failure); a POST
    asks for an export of a list with the filters it carries (the ledger pages' and the case
    list's "export" buttons)."""
    if request.method == "POST":
        data = {k: v for k, v in request.POST.items() if k not in ("kind", "csrfmiddlewaretoken") and v != ""}
        try:
            job, created = export_service.request_export(
                user=request.user, kind=_export_kind(request), params=data, now=timezone.now()
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except ValidationError as exc:
            messages.error(request, " ".join(str(m) for m in exc.messages))
            return redirect("reports:exports")
        if created:
            security_event(
                SecurityEventKind.EXPORT,
                request=request,
                user=request.user,
                export=job.kind,
                job=job.pk,
                **job.params,
            )
            messages.success(request, _("已开始导出，完成后可在下方下载。"))
        else:
            messages.info(request, _("同样的导出已在进行或已完成，未重复导出。"))
        return redirect("reports:exports")
    jobs = list(ExportJob.objects.filter(user=request.user).order_by("-created_at", "-id")[:RECENT_EXPORTS])
    return render(
        request,
        "reports/exports.html",
        {
            "jobs": [_job_view(job) for job in jobs],
            "retention_hours": int(export_service.retention().total_seconds() // 3600),
        },
    )


def _job_view(job: ExportJob) -> dict:
    return {"job": job, "error": export_service.error_message(job)}


@login_required
def export_progress(request, pk: int):
    """One export's row of the list (htmx polls it while the job is queued or running)."""
    job = get_object_or_404(ExportJob, pk=pk, user=request.user)
    return render(request, "reports/_export_row.html", _job_view(job))


@login_required
def export_file(request, pk: int):
    """The file of one of the person's own finished exports (anyone else: 404)."""
    job = get_object_or_404(ExportJob, pk=pk, user=request.user, state=ExportState.DONE)
    if not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    security_event(
        SecurityEventKind.EXPORT, request=request, user=request.user, export=job.kind, download=job.pk
    )
    return FileResponse(
        handle, as_attachment=True, filename=job.filename, content_type=exports.XLSX_CONTENT_TYPE
    )
