"""The petugas's dashboard section: their grants by status, upcoming NPHD dates, LPJ due and overdue."""

from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from abah.core.access import is_admin, is_staff_member
from abah.core.dashboard import register_section

from .filters import lpj_due_soon, lpj_overdue
from .models import Grant

S = Grant.Status


@register_section(20)
def grants_section(request):
    user = request.user
    if not is_staff_member(user):
        return None
    today = timezone.localdate()
    mine = Grant.objects.filter(petugas=user)
    everyone = is_admin(user) and not mine.exists()
    grants = Grant.objects.all() if everyone else mine
    active = grants.exclude(status=S.ARSIP)
    counts = dict(active.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    base = {} if everyone else {"saya": "1"}  # every number links to the Data Hibah list it counts

    def link(**params):
        return f"{reverse('grants:search')}?{urlencode({**base, **params})}" if base or params else reverse(
            "grants:search")

    by_status = [{"status": s, "label": s.label, "count": counts[s.value], "url": link(status=s.value),
                  "color": Grant(status=s).status_color} for s in S if counts.get(s.value)]
    upcoming = (active.filter(status=S.NPHD_DIJADWALKAN, nphd_date__gte=today)
                .select_related("institution").order_by("nphd_date", "id")[:10])
    overdue = active.filter(lpj_overdue(today)).select_related("institution").order_by("lpj_due_date", "id")
    due_soon = active.filter(lpj_due_soon(today)).select_related("institution").order_by("lpj_due_date", "id")
    return {"template": "grants/dashboard_section.html", "context": {
        "everyone": everyone, "by_status": by_status, "total": sum(counts.values()),
        "upcoming": upcoming, "overdue": overdue[:10], "overdue_count": overdue.count(),
        "due_soon": due_soon[:10], "due_soon_count": due_soon.count(), "today": today,
        "total_url": link(), "overdue_url": link(lpj="terlambat"), "due_soon_url": link(lpj="segera"),
    }}
