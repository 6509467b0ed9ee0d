"""Synthetic demo data: Jawa Timur institutions, their contacts and grants in every lifecycle state.

Names are assembled from common words; people and numbers are invented (no real persons' data).
``generate()`` is also used by the search benchmark (bench/search.py) to create 100,000 grants quickly.
"""

import datetime
import random
from decimal import Decimal

import phonenumbers
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from abah.core.demo import register_seeder

from .models import REGENCIES, Activity, Contact, Disbursement, Grant, Institution, KodeCounter, Note
from .search import search_key

S = Grant.Status
C = Institution.Category

PREFIXES = [
    (C.YAYASAN, "Yayasan Pendidikan Islam"), (C.YAYASAN, "Yayasan Sosial"), (C.YAYASAN, "Yayasan Yatim Piatu"),
    (C.MASJID, "Masjid Jami'"), (C.MASJID, "Masjid"), (C.MASJID, "Musholla"),
    (C.PESANTREN, "Pondok Pesantren"), (C.SEKOLAH, "Madrasah Ibtidaiyah"), (C.SEKOLAH, "Madrasah Tsanawiyah"),
    (C.SEKOLAH, "SMP Swasta"), (C.GEREJA, "Gereja Kristen Jawi Wetan Jemaat"), (C.GEREJA, "Gereja Katolik Paroki"),
    (C.PURA, "Pura"), (C.ORMAS, "LPTQ"), (C.ORMAS, "Karang Taruna"), (C.KELOMPOK, "Kelompok Tani"),
    (C.KELOMPOK, "Kelompok Nelayan"), (C.ORMAS, "Lembaga Amil Zakat"),
]
NAMES = [
    "Al-Hikmah", "Darul Ulum", "Nurul Huda", "Baitur Rahman", "Al-Ikhlas", "Miftahul Jannah", "Sabilillah",
    "Al-Falah", "Bahrul Ulum", "Hidayatul Mubtadiin", "Roudlotul Jannah", "At-Taqwa", "Sunan Ampel",
    "Mambaul Ulum", "Nurul Iman", "Al-Muttaqin", "Sumber Rejeki", "Maju Makmur", "Tunas Harapan", "Kasih Ibu",
    "Santo Yosef", "Bethesda", "Agung Jagatnatha", "Budi Luhur", "Bina Insani", "Tri Dharma", "Mekar Sari",
]
VILLAGES = [
    "Sukorejo", "Karangrejo", "Sumberagung", "Wonorejo", "Tanjungsari", "Kedungsari", "Mojosari", "Kalirejo",
    "Sidomulyo", "Purwodadi", "Ngadirejo", "Tambakrejo", "Banjarsari", "Sukodono", "Kebonagung", "Pandanwangi",
    "Gedangan", "Jatirejo", "Krajan", "Bangunrejo", "Sumbersari", "Kertosari", "Rejoagung", "Tegalsari",
]
FIRST = ["Ahmad", "Muhammad", "Siti", "Nur", "Budi", "Agus", "Dwi", "Sri", "Eko", "Yusuf", "Rina", "Hadi",
         "Slamet", "Wahyu", "Dewi", "Imam", "Fatimah", "Suparno", "Lilik", "Bambang", "Endang", "Heru"]
LAST = ["Hidayat", "Santoso", "Wibowo", "Rahmawati", "Susanto", "Hasanah", "Prasetyo", "Lestari", "Kurniawan",
        "Wahyudi", "Setiawan", "Maulana", "Purnomo", "Handayani", "Syafii", "Utomo"]
PURPOSES = [
    "Pembangunan Ruang Kelas Baru (RKB)", "Pembangunan Masjid", "Rehabilitasi Gedung Madrasah",
    "Pengadaan Sarana Ibadah", "Pembinaan Tilawatil Quran", "Rehabilitasi Asrama Santri",
    "Pengadaan Alat Pertanian", "Kegiatan Sosial Keagamaan", "Pembangunan Pagar dan Halaman",
    "Pengadaan Perahu dan Alat Tangkap", "Santunan Anak Yatim", "Rehabilitasi Gereja",
]
BANKS = ["Bank Jatim", "BRI", "BNI", "Bank Mandiri", "BSI", "BTN"]
MOBILE_PREFIXES = ["812", "813", "821", "822", "823", "852", "853", "851", "856", "857", "858", "815", "816",
                   "817", "818", "819", "859", "877", "878", "831", "832", "838", "895", "896", "897", "898",
                   "881", "882", "887"]
AMOUNTS = [Decimal(v) for v in ("25000000", "50000000", "75000000", "100000000", "150000000", "200000000",
                                "250000000", "300000000", "400000000", "500000000", "750000000", "1000000000")]

ORDER = list(S.values)
SIGNED_OR_LATER = set(ORDER[ORDER.index(S.NPHD_DITANDATANGANI):ORDER.index(S.ARSIP) + 1])
PAID_1 = set(ORDER[ORDER.index(S.PENCAIRAN_TAHAP_1_SELESAI):ORDER.index(S.ARSIP) + 1])
PAID_2 = set(ORDER[ORDER.index(S.PENCAIRAN_TAHAP_2_SELESAI):ORDER.index(S.ARSIP) + 1])
SK_OR_LATER = set(ORDER[ORDER.index(S.DITETAPKAN):ORDER.index(S.ARSIP) + 1])
LPJ_DONE = {S.LPJ_DITERIMA, S.LPJ_TERVERIFIKASI, S.SELESAI, S.ARSIP}


def mobile(rng: random.Random) -> str:
    """A random Indonesian mobile number in E.164 that phonenumbers accepts as mobile."""
    for _attempt in range(50):
        number = f"+62{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7, 10**8)}"
        parsed = phonenumbers.parse(number, None)
        if phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE:
            return number
    return "+6281230900099"


def _person(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _status_for(year: int, this_year: int, rng: random.Random) -> str:
    if year <= this_year - 2:
        return rng.choices([S.ARSIP, S.SELESAI, S.LPJ_TERLAMBAT, S.DITOLAK], weights=[80, 8, 7, 5])[0]
    return rng.choice([s for s in ORDER if s != S.ARSIP] + [S.ARSIP])


def _aware(day: datetime.date, rng) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(rng.randrange(7, 17), rng.randrange(60), rng.randrange(60)),
                                     tzinfo=timezone.get_current_timezone())


def generate(size: int, *, seed: int = 2018, petugas=(), batch: int = 2000, notes: bool = True,
             stdout=None) -> dict:
    """Create ``size`` grants (and about 2/3 as many institutions) with bulk inserts; returns counts."""
    rng = random.Random(seed)
    today = timezone.localdate()
    this_year = today.year
    years = list(range(this_year - 7, this_year + 1))
    petugas = list(petugas)
    n_inst = max(1, size * 2 // 3) if size else 0

    institutions = []
    for i in range(n_inst):
        category, prefix = rng.choice(PREFIXES)
        regency = rng.choice(REGENCIES)
        place = rng.choice(VILLAGES)
        name = f"{prefix} {rng.choice(NAMES)} {place}"
        if i % 7 == 0:
            name = f"{name} {regency.replace('Kabupaten ', '').replace('Kota ', '')}"
        institutions.append(Institution(
            name=name, name_search=search_key(name), category=category, regency=regency,
            address=f"Jl. {rng.choice(VILLAGES)} No. {rng.randrange(1, 200)}, Desa {place}, {regency}",
            npwp=f"{rng.randrange(10, 99)}.{rng.randrange(100, 999)}.{rng.randrange(100, 999)}.{rng.randrange(10)}-"
                 f"{rng.randrange(600, 660)}.000",
            bank_name=rng.choice(BANKS), account_number=str(rng.randrange(10**12, 10**13)), account_holder=name,
            chair=_person(rng), secretary=_person(rng), treasurer=_person(rng),
        ))
    Institution.objects.bulk_create(institutions, batch_size=batch)
    if institutions and institutions[0].pk is None:  # backends that do not return ids
        institutions = list(Institution.objects.order_by("-id")[:n_inst])[::-1]

    counters: dict[tuple[int, str], int] = {}
    grants = []
    all_states = list(ORDER)
    for i in range(size):
        institution = institutions[i % n_inst] if i < n_inst else rng.choice(institutions)
        year = rng.choice(years)
        status = all_states[i] if i < len(all_states) else _status_for(year, this_year, rng)
        jenis = rng.choices(Grant.Jenis.values, weights=[70, 15, 10, 5])[0]
        counters[(year, jenis)] = counters.get((year, jenis), 0) + 1
        requested = rng.choice(AMOUNTS)
        recommended = requested if rng.random() < 0.6 else requested * Decimal("0.8")
        created = _aware(datetime.date(year - 1, rng.randrange(1, 13), rng.randrange(1, 28)), rng)
        g = Grant(
            kode=f"{year}-{jenis}-{counters[(year, jenis)]:05d}", fiscal_year=year, jenis=jenis,
            institution=institution, amount_requested=requested, purpose=rng.choice(PURPOSES), status=status,
            recommendation=rng.choices(Grant.Rekomendasi.values, weights=[80, 15, 5])[0],
            petugas=rng.choice(petugas) if petugas else None, created_at=created,
            stage_count=2 if requested >= Decimal("200000000") else 1,
        )
        if status in {S.PENCAIRAN_TAHAP_2_PROSES, S.PENCAIRAN_TAHAP_2_SELESAI}:
            g.stage_count = 2
        index = ORDER.index(status) if status in ORDER[:ORDER.index(S.ARSIP) + 1] else 0
        if status == S.ARSIP:
            g.status_before_archive = S.SELESAI
        if index >= ORDER.index(S.DIREKOMENDASIKAN):
            g.amount_recommended = recommended
        if index >= ORDER.index(S.DIANGGARKAN):
            g.dpa_number = f"5435{year % 100:02d}05{i + 1:08d}"
            g.account_code = "5.1.05.05.01.0001"
        if status in SK_OR_LATER:
            g.amount_approved = recommended
            g.sk_stage = 1
            g.sk_issuer = "GUBERNUR JAWA TIMUR"
            g.sk_number = f"188/{rng.randrange(10, 900)}/KPTS/013/{year}"
            g.sk_date = datetime.date(year, 1, rng.randrange(5, 28))
        if status == S.NPHD_DIJADWALKAN:
            g.nphd_date = today + datetime.timedelta(days=rng.randrange(-3, 30))
        if status in SIGNED_OR_LATER:
            g.nphd_date = datetime.date(year, rng.randrange(2, 10), rng.randrange(1, 28))
            g.nphd_signed_on = g.nphd_date
            g.nphd_number = f"NPHD/{rng.randrange(1, 9999)}/{year}"
            g.lpj_due_date = datetime.date(year + 1, 1, 10)
        if status in {S.LPJ_MENUNGGU, S.LPJ_TERLAMBAT}:
            delta = rng.randrange(-90, -1) if status == S.LPJ_TERLAMBAT else rng.randrange(1, 60)
            g.lpj_due_date = today + datetime.timedelta(days=delta)
        if status in LPJ_DONE:
            g.lpj_received_on = g.lpj_due_date - datetime.timedelta(days=rng.randrange(1, 30))
        if status in {S.LPJ_TERVERIFIKASI, S.SELESAI, S.ARSIP}:
            g.lpj_verified_on = g.lpj_received_on + datetime.timedelta(days=rng.randrange(1, 20))
        grants.append(g)
    Grant.objects.bulk_create(grants, batch_size=batch)
    if grants and grants[0].pk is None:
        grants = list(Grant.objects.order_by("-id")[:size])[::-1]
    for (year, jenis), last in counters.items():
        counter, _created = KodeCounter.objects.get_or_create(fiscal_year=year, jenis=jenis)
        if counter.last < last:
            counter.last = last
            counter.save(update_fields=["last"])

    # Contacts: every institution with a signed NPHD or later, and about half of the others.
    needs_contact = {g.institution_id for g in grants if g.status in SIGNED_OR_LATER or g.status == S.NPHD_DIJADWALKAN}
    contacts = [
        Contact(institution=inst, person=_person(rng), phone=mobile(rng), is_current=True)
        for inst in institutions if inst.pk in needs_contact or rng.random() < 0.5
    ]
    Contact.objects.bulk_create(contacts, batch_size=batch)

    disbursements, activities, note_rows = [], [], []
    for g in grants:
        approved = g.amount_approved or Decimal("0")
        if g.status in PAID_1:
            first = approved if g.stage_count == 1 else (approved * Decimal("0.7")).quantize(Decimal("1"))
            paid_on = (g.nphd_signed_on or datetime.date(g.fiscal_year, 6, 1)) + datetime.timedelta(days=14)
            disbursements.append(Disbursement(grant=g, stage=1, amount=first, paid_on=paid_on,
                                              sp2d_number=f"{rng.randrange(1000, 99999)}/SP2D/LS/{g.fiscal_year}"))
            if g.stage_count == 2 and (g.status in PAID_2):
                disbursements.append(Disbursement(grant=g, stage=2, amount=approved - first,
                                                  paid_on=paid_on + datetime.timedelta(days=60),
                                                  sp2d_number=f"{rng.randrange(1000, 99999)}/SP2D/LS/{g.fiscal_year}"))
        activities.append(Activity(grant=g, institution_id=g.institution_id, user=g.petugas, action="grant_created",
                                   message=f"Hibah {g.kode} dibuat (data demo).", created_at=g.created_at))
        if notes and rng.random() < 0.1:
            note_rows.append(Note(grant=g, author=g.petugas, created_at=g.created_at,
                                  text=rng.choice(["Berkas proposal lengkap.", "Menunggu RAB revisi dari lembaga.",
                                                   "Survei lapangan sudah dilakukan.", "Kontak person sulit dihubungi."])))
    Disbursement.objects.bulk_create(disbursements, batch_size=batch)
    Activity.objects.bulk_create(activities, batch_size=batch)
    Note.objects.bulk_create(note_rows, batch_size=batch)
    return {"institutions": len(institutions), "grants": len(grants), "contacts": len(contacts)}


@register_seeder(20, "institutions and grants")
def seed_grants(*, size: int, stdout) -> None:
    if Grant.objects.exists():
        stdout.write("  grants exist already; nothing to do")
        return
    petugas = list(get_user_model().objects.filter(username__in=["petugas1", "petugas2", "admin"]).order_by("username"))
    # Mostly the two demo petugas; a few grants are the Admin's.
    weighted = [u for u in petugas if u.username != "admin"] * 4 + [u for u in petugas if u.username == "admin"]
    with transaction.atomic():
        counts = generate(size, petugas=weighted, stdout=stdout)
    stdout.write(f"  {counts['institutions']} institutions, {counts['contacts']} contacts, {counts['grants']} grants")


# A few Pesan threads, so UCP > Pesan and the Pesan dialog show a lived-in history on the first `make run`.
DEMO_THREADS = [
    ("Selamat pagi, mohon konfirmasi kehadiran penandatanganan NPHD.", "Siap, kami hadir. Terima kasih."),
    ("Mohon segera melengkapi dokumen SPJ tahap I.", "Baik Pak, minggu ini kami kirim."),
    ("Dana hibah tahap I telah ditransfer, mohon dicek.", "Sudah masuk, terima kasih Biro Kesra."),
    ("Mohon kirim foto kegiatan untuk LPJ.", None),
]


@register_seeder(40, "message threads")
def seed_threads(*, size: int, stdout) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from abah.sms import services as sms_services
    from abah.sms.models import Message

    from .messaging import PARTY_TYPE, queue_to_institution

    if Message.objects.filter(conversation__party_type=PARTY_TYPE).exists():
        stdout.write("  message threads exist already; nothing to do")
        return
    grants = list(Grant.objects.filter(petugas__isnull=False, institution__contacts__is_current=True)
                  .select_related("institution", "petugas").order_by("id")[: len(DEMO_THREADS)])
    now = timezone.now()
    with transaction.atomic():
        for n, (grant, (text, reply)) in enumerate(zip(grants, DEMO_THREADS, strict=False)):
            when = now - timedelta(days=len(DEMO_THREADS) - n, hours=3)
            message = queue_to_institution(institution=grant.institution, text=text, kind=Message.Kind.MANUAL,
                                           idempotency_key=f"demo:thread:{grant.pk}", sender=grant.petugas)
            # Aged as if the worker had sent it and the operator had reported it delivered back then.
            Message.objects.filter(pk=message.pk).update(
                status=Message.Status.DELIVERED, created_at=when, queued_at=when, attempts=1,
                sent_at=when + timedelta(seconds=2), delivered_at=when + timedelta(seconds=9), gateway="simulator")
            if reply:
                sms_services.receive_message(number=message.number, text=reply, gateway="simulator",
                                             gateway_message_id=f"demo-reply-{grant.pk}",
                                             received_at=when + timedelta(minutes=20))
    stdout.write(f"  {len(grants)} message threads")
