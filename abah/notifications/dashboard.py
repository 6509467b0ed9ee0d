"""The dashboard's "Pesan gagal": how many of the user's texts failed and were not resent, with a link to the list.
Hidden when there are none."""

from abah.core.access import is_staff_member
from abah.core.dashboard import register_section

from .failed import failed_count


@register_section(15)
def failed_section(request):
    user = request.user
    if not is_staff_member(user):
        return None
    count = failed_count(user)
    if not count:
        return None
    return {"template": "notifications/dashboard_failed.html", "context": {"count": count}}
