"""One wording on every page: one relative time ("… yang lalu"), stages in Roman numerals ("Tahap II"), the same word
for the same thing in every catalogue ("Nama pengguna", "email", "Kesalahan", "Petugas")."""

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.urls import reverse
from django.utils import timezone, translation

from abah.core import formatting

ROOT = Path(__file__).resolve().parents[2]
NOW = timezone.now()


@pytest.mark.parametrize("ago,indonesian,english", [
    (timedelta(seconds=10), "baru saja", "just now"),
    (timedelta(minutes=2), "2 menit yang lalu", "2 minutes ago"),
    (timedelta(minutes=1), "1 menit yang lalu", "1 minute ago"),
    (timedelta(hours=3, minutes=5), "3 jam yang lalu", "3 hours ago"),
    (timedelta(days=2), "2 hari yang lalu", "2 days ago"),
    (timedelta(days=95), "3 bulan yang lalu", "3 months ago"),
    (timedelta(days=800), "2 tahun yang lalu", "2 years ago"),
    (-timedelta(minutes=10), "10 menit lagi", "in 10 minutes"),
])
def test_relative_time(ago, indonesian, english):
    with translation.override("id"):
        assert formatting.relative(NOW - ago, NOW) == indonesian
    with translation.override("en"):
        assert formatting.relative(NOW - ago, NOW) == english


def test_the_sms_helper_is_the_core_helper():
    from abah.sms import humanize

    assert humanize.relative is formatting.relative


@pytest.mark.parametrize("number,roman", [(1, "I"), (2, "II"), (3, "III"), (4, "IV"), (9, "IX"), (14, "XIV")])
def test_stages_in_roman_numerals(number, roman):
    assert formatting.roman(number) == roman
    with translation.override("id"):
        assert formatting.tahap(number) == f"Tahap {roman}"
    with translation.override("en"):
        assert formatting.tahap(number) == f"Stage {roman}"


@pytest.mark.django_db
def test_sms_and_notification_pages_use_the_same_relative_time(admin_client, admin_user):
    from abah.notifications.models import Notification

    Notification.objects.create(user=admin_user, kind=Notification.Kind.GRANT_CHANGED, text="Contoh notifikasi",
                                updated_at=timezone.now() - timedelta(minutes=2))
    from abah.sms import services
    from abah.sms.models import Message

    thread = services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh",
                                       number="081230900095")
    message = services.send_manual(conversation=thread, text="Yth. Bpk/Ibu, tes.", sender=admin_user)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    for url in (reverse("notifications:list"), reverse("sms:message_list")):
        body = admin_client.get(url).content.decode()
        assert "2 menit yang lalu" in body, url
        assert "sekitar" not in body and "2 menit lalu" not in body, url


def test_sk_line_writes_the_stage_in_roman_numerals():
    from abah.grants.models import Grant

    grant = Grant(sk_number="188/45/KPTS/013/2018", sk_stage=1, sk_issuer="GUBERNUR JAWA TIMUR")
    with translation.override("id"):
        assert grant.sk_display == "Tahap I, GUBERNUR JAWA TIMUR, 188/45/KPTS/013/2018"


def _msgstrs():
    for po in [*ROOT.glob("abah/*/locale/id/LC_MESSAGES/django.po"), ROOT / "locale/id/LC_MESSAGES/django.po"]:
        for message in read_po(po.open("rb")):
            if message.id:
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                for string in strings:
                    yield po.relative_to(ROOT), message.id, string


# The word the product uses → the words it must not use for the same thing.
ONE_WORD = {
    "pengguna": ("pemakai",),
    "email": ("e-mail", "surel"),
    "Kesalahan": ("Galat", "galat"),
    "Petugas": ("Pegawai", "pegawai"),
    "Jadwal": ("Appointment",),
    "telepon genggam": ("ponsel",),
}


def test_catalogues_use_one_word_for_one_thing():
    found = []
    for po, msgid, string in _msgstrs():
        for word, others in ONE_WORD.items():
            found += [f"{po}: {msgid!r} → {string!r} (write {word})" for other in others if other in string]
    assert found == []


def test_no_stage_in_arabic_numerals_in_the_catalogues():
    found = [f"{po}: {string!r}" for po, _msgid, string in _msgstrs()
             if any(f"Tahap {digit}" in string for digit in "123456789")]
    assert found == []


def test_one_msgid_has_one_indonesian_in_every_catalogue():
    """Django renders one catalogue's translation of a msgid on every page: another catalogue's different wording
    ("Saring" where "Filter" is shown) would be dead and misleading."""
    seen: dict = {}
    for po in [*ROOT.glob("abah/*/locale/id/LC_MESSAGES/django.po"), ROOT / "locale/id/LC_MESSAGES/django.po"]:
        for message in read_po(po.open("rb")):
            if message.id and not isinstance(message.id, tuple):
                seen.setdefault((message.context, message.id), set()).add(message.string)
    assert {key: strings for key, strings in seen.items() if len(strings) > 1} == {}
