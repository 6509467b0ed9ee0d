"""The Data Hibah filters: status, petugas, fiscal year, jenis, regency, "Hibah saya" and the LPJ deadlines.

Read from the query string through abah.core.params; a value that is not one of the choices is ignored and
named in a message (never an error page). The dashboard's numbers link to these filters, and count with the
same conditions (``lpj_overdue`` / ``lpj_due_soon``), so a badge and its list always agree.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abah.core.params import int_param, text_param

from .models import REGENCIES, Grant

S = Grant.Status
LPJ_SOON_DAYS = 30
LPJ_OPEN = Q(status__in=[S.LPJ_MENUNGGU, S.LPJ_TERLAMBAT])
LPJ_CHOICES = [("terlambat", gettext_lazy("LPJ overdue")), ("segera", gettext_lazy("LPJ due within 30 days"))]
MIN_YEAR, MAX_YEAR = 2000, 2100
NAMES = ("status", "petugas", "tahun", "jenis", "kabupaten", "saya", "lpj")
LABELS = {"status": gettext_lazy("Status"), "petugas": gettext_lazy("Officer"), "tahun": gettext_lazy("Fiscal year"),
          "jenis": gettext_lazy("Type"), "kabupaten": gettext_lazy("Regency/city"), "saya": gettext_lazy("My grants"),
          "lpj": gettext_lazy("LPJ")}


def lpj_overdue(today: datetime.date) -> Q:
    return LPJ_OPEN & Q(lpj_due_date__lt=today)


def lpj_due_soon(today: datetime.date) -> Q:
    return LPJ_OPEN & Q(lpj_due_date__gte=today, lpj_due_date__lte=today + datetime.timedelta(days=LPJ_SOON_DAYS))


def officers():
    """Every active Admin and Petugas, for the Petugas filter."""
    return (get_user_model().objects.filter(is_active=True, role__in=["admin", "petugas"])
            .order_by("first_name", "last_name", "username"))


def fiscal_years(selected=None) -> list[int]:
    this_year = timezone.localdate().year
    years = list(range(this_year + 1, this_year - 10, -1))
    if selected and selected not in years:
        years.append(selected)
    return sorted(years, reverse=True)


def options(chosen: "Filters") -> dict:
    """The choices of each filter as (value, label, selected), labels already text (the form renders fast)."""

    def listed(pairs, current):
        return [(str(value), str(label), str(value) == str(current)) for value, label in pairs]

    return {
        "status": listed(S.choices, chosen.status),
        "petugas": listed(((u.pk, str(u)) for u in officers()), chosen.petugas.pk if chosen.petugas else ""),
        "tahun": listed(((y, y) for y in fiscal_years(chosen.tahun)), chosen.tahun or ""),
        "jenis": listed(Grant.Jenis.choices, chosen.jenis),
        "kabupaten": listed(((r, r) for r in REGENCIES), chosen.kabupaten),
        "lpj": listed(LPJ_CHOICES, chosen.lpj),
    }


@dataclass
class Filters:
    status: str = ""
    petugas: object = None  # a User
    tahun: int | None = None
    jenis: str = ""
    kabupaten: str = ""
    saya: bool = False
    lpj: str = ""
    ignored: list = field(default_factory=list)  # (parameter, value) pairs that were not valid

    @property
    def active(self) -> bool:
        return bool(self.status or self.petugas or self.tahun or self.jenis or self.kabupaten or self.saya
                    or self.lpj)

    def condition(self, user) -> Q:
        q = Q()
        if self.status:
            q &= Q(status=self.status)
        if self.petugas is not None:
            q &= Q(petugas=self.petugas)
        if self.saya:
            q &= Q(petugas_id=user.pk)
        if self.tahun:
            q &= Q(fiscal_year=self.tahun)
        if self.jenis:
            q &= Q(jenis=self.jenis)
        if self.kabupaten:
            q &= Q(institution__regency=self.kabupaten)
        today = timezone.localdate()
        if self.lpj == "terlambat":
            q &= lpj_overdue(today)
        elif self.lpj == "segera":
            q &= lpj_due_soon(today)
        return q

    def describe(self) -> str:
        """For the audit log of an export."""
        parts = [f"{name}={getattr(self, name).pk if name == 'petugas' else getattr(self, name)}"
                 for name in NAMES if getattr(self, name)]
        return " ".join(parts)

    def messages(self) -> list[str]:
        return [_("The filter “%(name)s” was ignored: “%(value)s” is not one of its choices.")
                % {"name": LABELS[name], "value": value} for name, value in self.ignored]


def read(params) -> Filters:
    """The filters given in ``params`` (request.GET); invalid values are left out and listed in ``ignored``."""
    found = Filters()

    def choice(name, allowed):
        value = text_param(params, name, max_length=60)
        if value and value not in allowed:
            found.ignored.append((name, value))
            return ""
        return value

    found.status = choice("status", set(S.values))
    found.jenis = choice("jenis", set(Grant.Jenis.values))
    found.kabupaten = choice("kabupaten", set(REGENCIES))
    found.lpj = choice("lpj", {key for key, _label in LPJ_CHOICES})
    raw_year = text_param(params, "tahun", max_length=20)
    found.tahun = int_param(params, "tahun", minimum=MIN_YEAR, maximum=MAX_YEAR)
    if raw_year and found.tahun is None:
        found.ignored.append(("tahun", raw_year))
    raw_petugas = text_param(params, "petugas", max_length=20)
    if raw_petugas:
        pk = int_param(params, "petugas")
        found.petugas = officers().filter(pk=pk).first() if pk else None
        if found.petugas is None:
            found.ignored.append(("petugas", raw_petugas))
    saya = text_param(params, "saya", max_length=5)
    if saya in {"1", "on", "true"}:
        found.saya = True
    elif saya and saya not in {"0", "off", "false"}:
        found.ignored.append(("saya", saya))
    return found
