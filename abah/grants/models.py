"""Institutions (lembaga), their contacts, grants (hibah), disbursements, notes and the activity log.

Grant lifecycle (DOMAIN.md §2) — the allowed transitions live in ``services.TRANSITIONS``:

    USULAN_DITERIMA → VERIFIKASI_ADMINISTRASI ↔ PERLU_PERBAIKAN → VERIFIKASI_FAKTUAL → DIREKOMENDASIKAN
    → PERTIMBANGAN_TAPD → DIANGGARKAN → DITETAPKAN → NPHD_DIJADWALKAN → NPHD_DITANDATANGANI
    → PENCAIRAN_TAHAP_1_PROSES → PENCAIRAN_TAHAP_1_SELESAI → (PENCAIRAN_TAHAP_2_PROSES → …_SELESAI)
    → LPJ_MENUNGGU (→ LPJ_TERLAMBAT) → LPJ_DITERIMA → LPJ_TERVERIFIKASI → SELESAI → ARSIP
    Any open state → DITOLAK / BATAL (end states) → ARSIP.

Archived grants (status ARSIP) appear only under "Data Arsip".
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from abah.sms import phone as phone_utils

MONEY = {"max_digits": 18, "decimal_places": 2}

# Kabupaten/Kota in Jawa Timur (29 regencies, 9 cities).
REGENCIES = [
    "Kabupaten Bangkalan", "Kabupaten Banyuwangi", "Kabupaten Blitar", "Kabupaten Bojonegoro",
    "Kabupaten Bondowoso", "Kabupaten Gresik", "Kabupaten Jember", "Kabupaten Jombang", "Kabupaten Kediri",
    "Kabupaten Lamongan", "Kabupaten Lumajang", "Kabupaten Madiun", "Kabupaten Magetan", "Kabupaten Malang",
    "Kabupaten Mojokerto", "Kabupaten Nganjuk", "Kabupaten Ngawi", "Kabupaten Pacitan", "Kabupaten Pamekasan",
    "Kabupaten Pasuruan", "Kabupaten Ponorogo", "Kabupaten Probolinggo", "Kabupaten Sampang",
    "Kabupaten Sidoarjo", "Kabupaten Situbondo", "Kabupaten Sumenep", "Kabupaten Trenggalek", "Kabupaten Tuban",
    "Kabupaten Tulungagung", "Kota Batu", "Kota Blitar", "Kota Kediri", "Kota Madiun", "Kota Malang",
    "Kota Mojokerto", "Kota Pasuruan", "Kota Probolinggo", "Kota Surabaya",
]


class Institution(models.Model):
    """A recipient institution (lembaga). Its SMS number is ``current_contact.phone``."""

    class Category(models.TextChoices):
        YAYASAN = "YAYASAN", _("Foundation")
        MASJID = "MASJID", _("Mosque")
        PESANTREN = "PESANTREN", _("Islamic boarding school")
        SEKOLAH = "SEKOLAH", _("School")
        GEREJA = "GEREJA", _("Church")
        PURA = "PURA", _("Temple")
        ORMAS = "ORMAS", _("Civil society organisation")
        KELOMPOK = "KELOMPOK", _("Community group")
        LAINNYA = "LAINNYA", _("Other")

    name = models.CharField(_("name"), max_length=255)
    name_search = models.CharField(max_length=255, editable=False, db_index=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.YAYASAN)
    address = models.TextField(_("address"), blank=True)
    regency = models.CharField(_("regency/city"), max_length=100, blank=True)
    npwp = models.CharField(_("NPWP"), max_length=30, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    account_number = models.CharField(_("account number"), max_length=40, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=255, blank=True)
    chair = models.CharField(_("chair"), max_length=150, blank=True)
    secretary = models.CharField(_("secretary"), max_length=150, blank=True)
    treasurer = models.CharField(_("treasurer"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        from .search import search_key

        self.name_search = search_key(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_search"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("grants:institution_detail", args=[self.pk])

    @property
    def masked_account(self) -> str:
        """Only the last four digits of the account number are ever shown: ***1234."""
        digits = self.account_number.strip()
        if not digits:
            return "-"
        return f"***{digits[-4:]}"

    @property
    def current_contact(self):
        """The one current Contact (or None). Uses a prefetched ``current_contacts`` list when present."""
        cached = getattr(self, "current_contacts", None)
        if cached is not None:
            return cached[0] if cached else None
        return self.contacts.filter(is_current=True).first()

    @property
    def contact_phone(self) -> str:
        """The institution's SMS number in E.164, or "" when it has no contact."""
        contact = self.current_contact
        return contact.phone if contact else ""


class Contact(models.Model):
    """A contact person and one mobile number; exactly one is current per institution, the rest is history."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="contacts",
                                    verbose_name=_("institution"))
    person = models.CharField(_("contact person"), max_length=150)
    phone = models.CharField(_("phone number"), max_length=16, help_text=_("E.164, e.g. +628123090095"))
    region = models.CharField(_("country"), max_length=2, default="ID")
    is_current = models.BooleanField(_("current"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["institution"], condition=models.Q(is_current=True),
                                    name="grants_contact_one_current"),
        ]
        indexes = [models.Index(fields=["phone"], name="grants_contact_phone")]

    def __str__(self):
        return f"{self.person} ({self.phone})"

    @property
    def phone_national(self) -> str:
        return phone_utils.national(self.phone)

    @property
    def phone_masked(self) -> str:
        return phone_utils.mask(self.phone)


class Grant(models.Model):
    """A grant (hibah) to one institution in one fiscal year."""

    class Status(models.TextChoices):
        USULAN_DITERIMA = "USULAN_DITERIMA", _("Proposal received")
        VERIFIKASI_ADMINISTRASI = "VERIFIKASI_ADMINISTRASI", _("Administrative verification")
        PERLU_PERBAIKAN = "PERLU_PERBAIKAN", _("Needs revision")
        VERIFIKASI_FAKTUAL = "VERIFIKASI_FAKTUAL", _("Field verification")
        DIREKOMENDASIKAN = "DIREKOMENDASIKAN", _("Recommended")
        PERTIMBANGAN_TAPD = "PERTIMBANGAN_TAPD", _("TAPD review")
        DIANGGARKAN = "DIANGGARKAN", _("Budgeted")
        DITETAPKAN = "DITETAPKAN", _("SK issued")
        NPHD_DIJADWALKAN = "NPHD_DIJADWALKAN", _("NPHD scheduled")
        NPHD_DITANDATANGANI = "NPHD_DITANDATANGANI", _("NPHD signed")
        PENCAIRAN_TAHAP_1_PROSES = "PENCAIRAN_TAHAP_1_PROSES", _("Disbursement stage I in process")
        PENCAIRAN_TAHAP_1_SELESAI = "PENCAIRAN_TAHAP_1_SELESAI", _("Disbursement stage I done")
        PENCAIRAN_TAHAP_2_PROSES = "PENCAIRAN_TAHAP_2_PROSES", _("Disbursement stage II in process")
        PENCAIRAN_TAHAP_2_SELESAI = "PENCAIRAN_TAHAP_2_SELESAI", _("Disbursement stage II done")
        LPJ_MENUNGGU = "LPJ_MENUNGGU", _("Waiting for LPJ")
        LPJ_TERLAMBAT = "LPJ_TERLAMBAT", _("LPJ overdue")
        LPJ_DITERIMA = "LPJ_DITERIMA", _("LPJ received")
        LPJ_TERVERIFIKASI = "LPJ_TERVERIFIKASI", _("LPJ verified")
        SELESAI = "SELESAI", _("Closed")
        ARSIP = "ARSIP", _("Archived")
        DITOLAK = "DITOLAK", _("Rejected")
        BATAL = "BATAL", _("Cancelled")

    class Jenis(models.TextChoices):
        # The value is the code used in the kode proses (2018-HK-00005).
        HK = "HK", _("Hibah Berbadan Hukum Indonesia")
        HM = "HM", _("Hibah Kelompok Masyarakat")
        HO = "HO", _("Hibah Organisasi Kemasyarakatan")
        BS = "BS", _("Bantuan Sosial")

    class Rekomendasi(models.TextChoices):
        REGULER = "REGULER", "REGULER"
        ASPIRASI = "ASPIRASI", "ASPIRASI"
        KHUSUS = "KHUSUS", "KHUSUS"

    kode = models.CharField(_("process code"), max_length=20, unique=True)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    jenis = models.CharField(_("type"), max_length=2, choices=Jenis.choices, default=Jenis.HK)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="grants",
                                    verbose_name=_("institution"))
    dpa_number = models.CharField(_("DPA number"), max_length=40, blank=True, db_index=True)
    account_code = models.CharField(_("account code"), max_length=40, blank=True)
    amount_requested = models.DecimalField(_("amount requested"), default=Decimal("0"), **MONEY)
    amount_recommended = models.DecimalField(_("amount recommended"), null=True, blank=True, **MONEY)
    amount_approved = models.DecimalField(_("amount approved"), null=True, blank=True, **MONEY)
    purpose = models.CharField(_("purpose"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.USULAN_DITERIMA)
    status_before_archive = models.CharField(max_length=30, blank=True, editable=False)
    recommendation = models.CharField(_("recommendation"), max_length=20, choices=Rekomendasi.choices,
                                      default=Rekomendasi.REGULER)
    sk_stage = models.PositiveSmallIntegerField(_("SK stage"), null=True, blank=True)
    sk_issuer = models.CharField(_("SK issuer"), max_length=150, blank=True)
    sk_number = models.CharField(_("SK number"), max_length=100, blank=True)
    sk_date = models.DateField(_("SK date"), null=True, blank=True)
    petugas = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="grants", verbose_name=_("officer"))
    stage_count = models.PositiveSmallIntegerField(_("number of disbursement stages"), default=2,
                                                   choices=[(1, "1"), (2, "2")])
    nphd_date = models.DateField(_("NPHD date"), null=True, blank=True)
    nphd_number = models.CharField(_("NPHD number"), max_length=100, blank=True)
    nphd_signed_on = models.DateField(_("NPHD signed on"), null=True, blank=True)
    lpj_due_date = models.DateField(_("LPJ due date"), null=True, blank=True)
    lpj_received_on = models.DateField(_("LPJ received on"), null=True, blank=True)
    lpj_verified_on = models.DateField(_("LPJ verified on"), null=True, blank=True)
    lpj_verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        verbose_name=_("LPJ verified by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="grants_grant_status_created"),
            models.Index(fields=["institution", "status", "created_at"], name="grants_grant_inst_status"),
            models.Index(fields=["petugas", "status"], name="grants_grant_petugas_status"),
            models.Index(fields=["-created_at", "-id"], name="grants_grant_created"),
            models.Index(fields=["fiscal_year", "status"], name="grants_grant_year_status"),  # Data Hibah filter
        ]

    def __str__(self):
        return self.kode

    def get_absolute_url(self):
        return reverse("grants:grant_detail", args=[self.pk])

    @property
    def status_color(self) -> str:
        """Bootstrap colour of the status badge."""
        s = self.Status
        if self.status in {s.DITOLAK, s.BATAL, s.LPJ_TERLAMBAT, s.PERLU_PERBAIKAN}:
            return "danger"
        if self.status in {s.SELESAI, s.ARSIP, s.LPJ_TERVERIFIKASI}:
            return "secondary"
        if self.status in {s.NPHD_DIJADWALKAN, s.NPHD_DITANDATANGANI, s.DITETAPKAN}:
            return "primary"
        if self.status.startswith("PENCAIRAN") or self.status.startswith("LPJ"):
            return "success"
        return "warning"

    # Django's get_FOO_display rebuilds a dict of every choice on each call; a search page shows 40 of them.
    def get_status_display(self) -> str:
        return str(_STATUS_LABELS.get(self.status, self.status))

    def get_jenis_display(self) -> str:
        return str(_JENIS_LABELS.get(self.jenis, self.jenis))

    @property
    def is_archived(self) -> bool:
        return self.status == self.Status.ARSIP

    @property
    def nominal(self):
        """The amount shown as "Nominasi": approved, else recommended, else requested."""
        for value in (self.amount_approved, self.amount_recommended, self.amount_requested):
            if value is not None:
                return value
        return None

    @property
    def sk_display(self) -> str:
        """Tahap I, GUBERNUR JAWA TIMUR, 188/45/KPTS/013/2018, 19 Januari 2018 (or "-"): stages in Roman numerals,
        as everywhere else."""
        from abah.core.formatting import tahap, tanggal

        if not self.sk_number:
            return "-"
        parts = []
        if self.sk_stage:
            parts.append(tahap(self.sk_stage))
        if self.sk_issuer:
            parts.append(self.sk_issuer)
        parts.append(self.sk_number)
        if self.sk_date:
            parts.append(tanggal(self.sk_date))
        return ", ".join(parts)

    @property
    def lpj_overdue(self) -> bool:
        return bool(
            self.lpj_due_date
            and self.status in {self.Status.LPJ_MENUNGGU, self.Status.LPJ_TERLAMBAT}
            and self.lpj_due_date < timezone.localdate()
        )



_STATUS_LABELS = dict(Grant.Status.choices)  # value → lazy label
_JENIS_LABELS = dict(Grant.Jenis.choices)


class KodeCounter(models.Model):
    """The last sequence number used per (fiscal year, jenis); locked with select_for_update."""

    fiscal_year = models.PositiveSmallIntegerField()
    jenis = models.CharField(max_length=2)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fiscal_year", "jenis"], name="grants_kodecounter_unique")]

    def __str__(self):
        return f"{self.fiscal_year}-{self.jenis}: {self.last}"


class Disbursement(models.Model):
    """Pencairan Tahap I / II: amount transferred, date and SP2D number."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="disbursements",
                              verbose_name=_("grant"))
    stage = models.PositiveSmallIntegerField(_("stage"), choices=[(1, "I"), (2, "II")])
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_on = models.DateField(_("date"))
    sp2d_number = models.CharField(_("SP2D number"), max_length=100)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("recorded by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["grant", "stage"]
        constraints = [models.UniqueConstraint(fields=["grant", "stage"], name="grants_disbursement_unique_stage")]

    def __str__(self):
        return f"{self.grant.kode} Tahap {self.get_stage_display()}"


class Note(models.Model):
    """Tambah Catatan: a free-text note on a grant."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="notes", verbose_name=_("grant"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("author"))
    text = models.TextField(_("note"), max_length=4000)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.text[:60]


class Activity(models.Model):
    """The Log: who did what, when, on which grant/institution. Written by every service that changes data."""

    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.CASCADE, related_name="activities",
                              verbose_name=_("grant"))
    institution = models.ForeignKey(Institution, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="activities", verbose_name=_("institution"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("user"))
    action = models.CharField(_("action"), max_length=40)
    message = models.CharField(_("description"), max_length=500)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["grant", "-created_at"], name="grants_activity_grant")]

    def __str__(self):
        return self.message
