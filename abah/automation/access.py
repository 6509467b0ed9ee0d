"""Object-level rules of the automation app (role checks are in abah.core.access)."""

from abah.core.access import is_admin, is_staff_member


def can_edit_templates(user) -> bool:
    return is_admin(user)


def can_broadcast(user) -> bool:
    """An Admin to any institution; a Petugas to the institutions of their own grants."""
    return is_staff_member(user)


def can_view_broadcast(user, broadcast) -> bool:
    return is_admin(user) or (is_staff_member(user) and broadcast.created_by_id == user.pk)


def can_pause_reminders(user, grant) -> bool:
    from abah.grants.access import can_change_grant

    return can_change_grant(user, grant)
