"""Object-level rules for grants and institutions (role checks are in abah.core.access)."""

from abah.core.access import is_admin, is_staff_member


def can_view(user) -> bool:
    """Every approved staff member may search and read grants and institutions."""
    return is_staff_member(user)


def can_change_grant(user, grant) -> bool:
    """Only the assigned petugas or an Admin may change a grant."""
    if is_admin(user):
        return True
    if not is_staff_member(user):
        return False
    return grant.petugas_id is not None and grant.petugas_id == user.pk


def can_assign(user) -> bool:
    """Tugaskan kepada: Admin only."""
    return is_admin(user)


def can_change_institution(user, institution) -> bool:
    """An Admin, or a petugas assigned to one of the institution's grants (contact, data)."""
    if is_admin(user):
        return True
    if not is_staff_member(user):
        return False
    return institution.grants.filter(petugas_id=user.pk).exists()


def can_import(user) -> bool:
    return is_admin(user)


def can_close_fiscal_year(user) -> bool:
    return is_admin(user)
