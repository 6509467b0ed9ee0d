"""Export of search results to .xlsx through the one export helper (abah.core.exports): rows streamed from the
database, every text written as text (never a formula)."""

from django.utils import timezone
from django.utils.translation import gettext as _

from abah.core.exports import Sheet, xlsx_response

MAX_ROWS = 100_000


def grants_xlsx(queryset, *, scope: str = "aktif"):
    header = [_("Code"), _("Fiscal year"), _("DPA number"), _("Institution"), _("Regency/city"),
              _("Nomination"), _("Amount requested"), _("Amount approved"), _("Status"), _("Type"), _("SK"),
              _("Officer"), _("Recommendation"), _("Purpose"), _("Created")]
    grants = queryset.select_related("institution", "petugas").order_by("-created_at", "-id")[:MAX_ROWS]
    rows = ([g.kode, g.fiscal_year, g.dpa_number, g.institution.name, g.institution.regency,
             g.nominal, g.amount_requested, g.amount_approved, g.get_status_display(), g.get_jenis_display(),
             g.sk_display, str(g.petugas) if g.petugas else "", g.recommendation, g.purpose, g.created_at]
            for g in grants.iterator(chunk_size=2000))
    name = f"hibah-{'arsip' if scope == 'arsip' else 'aktif'}-{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(name, [Sheet(_("Grants"), header, rows)])
