"""The Admin's Log Audit page: filters, newest first, and the .xlsx export of what the filters select."""

import datetime

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from abah.core.access import admin_required
from abah.core.exports import Sheet, xlsx_response
from abah.core.formatting import WIB

from . import services
from .forms import AuditFilterForm
from .models import AuditEntry

PER_PAGE = 50
MAX_EXPORT_ROWS = 100_000


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


def _export(request, form, entries) -> HttpResponse:
    """The filtered entries through the site's one export helper (every text a string cell, never a formula)."""
    labels = dict(AuditEntry.Action.choices)
    written = 0

    def rows():
        nonlocal written
        for e in entries.order_by("-at", "-id")[:MAX_EXPORT_ROWS].iterator(chunk_size=2000):
            written += 1
            yield [e.at, e.username, e.address or "", str(labels.get(e.action, e.action)), e.target_type,
                   e.target_id, e.detail, e.count]

    header = [_("Time (WIB)"), _("User"), _("Address"), _("Action"), _("Object type"), _("Object id"),
              _("Detail"), _("Count")]
    response = xlsx_response(f"log-audit-{timezone.localdate():%Y%m%d}.xlsx",
                             [Sheet(_("Audit log"), header, rows())])
    filters = form.cleaned_data if form.is_valid() else {}
    services.record(request, services.Action.EXPORT, target="audit.auditentry", count=written,
                    detail=" ".join(f"{name}={value}" for name, value in filters.items() if value))
    return response


@admin_required
def entry_list(request):
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("export", None)
    form = AuditFilterForm(params or None)
    entries = _filtered(form)
    if request.GET.get("export") == "xlsx":
        return _export(request, form, entries)
    page = Paginator(entries.select_related("user").order_by("-at", "-id"), PER_PAGE).get_page(
        request.GET.get("page"))
    export_query = params.copy()
    export_query["export"] = "xlsx"
    return render(request, "audit/entry_list.html", {
        "form": form, "page": page, "export_url": f"?{export_query.urlencode()}",
        "usernames": get_user_model().objects.order_by("username").values_list("username", flat=True)[:500],
    })
