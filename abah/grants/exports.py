"""Export of search results to .xlsx (openpyxl write-only mode, rows streamed from the database)."""

import io

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from abah.core.formatting import to_wib

MAX_ROWS = 100_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def grants_xlsx(queryset, *, scope: str = "aktif") -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Grants"))
    sheet.append([_("Code"), _("Fiscal year"), _("DPA number"), _("Institution"), _("Regency/city"),
                  _("Nomination"), _("Amount requested"), _("Amount approved"), _("Status"), _("Type"), _("SK"),
                  _("Officer"), _("Recommendation"), _("Purpose"), _("Created")])
    rows = queryset.select_related("institution", "petugas").order_by("-created_at", "-id")[:MAX_ROWS]
    for g in rows.iterator(chunk_size=2000):
        sheet.append([
            g.kode, g.fiscal_year, g.dpa_number, g.institution.name, g.institution.regency,
            g.nominal, g.amount_requested, g.amount_approved, g.get_status_display(), g.get_jenis_display(),
            g.sk_display, str(g.petugas) if g.petugas else "", g.recommendation, g.purpose,
            to_wib(g.created_at).replace(tzinfo=None),
        ])
    buffer = io.BytesIO()
    workbook.save(buffer)
    name = f"hibah-{'arsip' if scope == 'arsip' else 'aktif'}-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
