"""The Admin's Log Audit page: filters, newest first, and the .xlsx export of what the filters select."""

import datetime
import io

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from abah.core.access import admin_required
from abah.core.formatting import WIB, to_wib

from . import services
from .forms import AuditFilterForm
from .models import AuditEntry

PER_PAGE = 50
MAX_EXPORT_ROWS = 100_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filtered(form: AuditFilterForm):
    entries = AuditEntry.objects.all()
    if not form.is_valid():
        return entries.none() if form.is_bound and form.errors else entries
    data = form.cleaned_data
    if data["user"].strip():
        entries = entries.filter(username__iexact=data["user"].strip())
    if data["action"]:
        entries = entries.filter(action=data["action"])
    if data["start"]:
        entries = entries.filter(at__gte=datetime.datetime.combine(data["start"], datetime.time.min, tzinfo=WIB))
    if data["end"]:
        end = data["end"] + datetime.timedelta(days=1)
        entries = entries.filter(at__lt=datetime.datetime.combine(end, datetime.time.min, tzinfo=WIB))
    q = " ".join(data["q"].split())
    if q:
        entries = entries.filter(Q(detail__icontains=q) | Q(target_type__icontains=q) | Q(target_id=q)
                                 | Q(username__icontains=q) | Q(address__startswith=q))
    return entries


def _text(sheet, value) -> WriteOnlyCell:
    """A cell that is always text: a value starting with = + - @ is never read as a formula."""
    cell = WriteOnlyCell(sheet, value="" if value is None else str(value))
    cell.data_type = "s"
    return cell


def _export(request, entries) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Audit log"))
    sheet.append([_text(sheet, h) for h in (_("Time (WIB)"), _("User"), _("Address"), _("Action"),
                                           _("Object type"), _("Object id"), _("Detail"), _("Count"))])
    rows = 0
    labels = dict(AuditEntry.Action.choices)
    for e in entries.order_by("-at", "-id")[:MAX_EXPORT_ROWS].iterator(chunk_size=2000):
        sheet.append([to_wib(e.at).replace(tzinfo=None), _text(sheet, e.username), _text(sheet, e.address or ""),
                      _text(sheet, labels.get(e.action, e.action)), _text(sheet, e.target_type),
                      _text(sheet, e.target_id), _text(sheet, e.detail), e.count])
        rows += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    services.record(request, services.Action.EXPORT, target="audit.auditentry", count=rows,
                    detail=request.GET.urlencode()[:255])
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="log-audit-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


@admin_required
def entry_list(request):
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("export", None)
    form = AuditFilterForm(params or None)
    entries = _filtered(form)
    if request.GET.get("export") == "xlsx":
        return _export(request, entries)
    page = Paginator(entries.select_related("user").order_by("-at", "-id"), PER_PAGE).get_page(
        request.GET.get("page"))
    export_query = params.copy()
    export_query["export"] = "xlsx"
    return render(request, "audit/entry_list.html", {
        "form": form, "page": page, "export_url": f"?{export_query.urlencode()}",
        "usernames": get_user_model().objects.order_by("username").values_list("username", flat=True)[:500],
    })
