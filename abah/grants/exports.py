"""Export of search results to .xlsx through the one export helper (abah.core.exports): rows streamed from the
database, every text written as text (never a formula).

The columns are Impor's (``imports.EXPORT_COLUMNS``): what Ekspor writes, Impor reads back unchanged (the
status, jenis and category as their labels, the officer as a username, amounts as numbers)."""

from django.utils import timezone
from django.utils.translation import gettext as _

from abah.core.exports import Sheet, xlsx_response

from .imports import EXPORT_COLUMNS

MAX_ROWS = 100_000


def grants_xlsx(queryset, *, scope: str = "aktif"):
    header = list(EXPORT_COLUMNS.values())
    grants = queryset.select_related("institution", "petugas")[:MAX_ROWS]
    rows = ([g.kode, g.fiscal_year, g.get_jenis_display(), g.dpa_number, g.institution.name, g.institution.regency,
             g.institution.get_category_display(), g.amount_requested, g.amount_recommended, g.amount_approved,
             g.get_status_display(), g.recommendation, g.petugas.username if g.petugas else "", g.purpose]
            for g in grants.iterator(chunk_size=2000))
    name = f"hibah-{'arsip' if scope == 'arsip' else 'aktif'}-{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(name, [Sheet(_("Grants"), header, rows)])
