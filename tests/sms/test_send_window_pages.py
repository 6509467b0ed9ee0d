"""Pengaturan SMS › Jam kirim (Admin only, validated in Indonesian, never a 500) and the status page's window line."""

from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from abah.core.formatting import WIB
from abah.sms import conf, services
from abah.sms.models import SendWindowSetting

pytestmark = pytest.mark.django_db
URL = "/sms/pengaturan/"
GOOD = {"start": "07:30", "end": "16:00", "days": ["1", "2", "3", "4", "5"], "exempt_kinds": ["code", "manual"],
        "national_holidays": "1", "holidays": "2026-12-24 Cuti bersama Natal\n2026-12-31"}


def test_url():
    assert reverse("sms:settings") == URL


def test_only_an_admin_may_see_or_change_the_window(petugas_client):
    assert petugas_client.get(URL).status_code == 403
    assert petugas_client.post(URL, GOOD).status_code == 403
    assert not SendWindowSetting.objects.exists()


def test_the_admin_sets_the_window(admin_client):
    body = admin_client.get(URL).content.decode()
    assert "Jam kirim" in body and "Pengaturan SMS" in body and "Hari Raya Natal" in body
    assert f'href="{URL}"' in admin_client.get(reverse("sms:message_list")).content.decode()  # SMS Center menu
    answer = admin_client.post(URL, GOOD)
    assert answer.status_code == 302
    window = conf.send_window()
    assert window.source == "admin" and window.days == (1, 2, 3, 4, 5)
    assert (conf.format_clock(window.start), conf.format_clock(window.end)) == ("07:30", "16:00")
    assert window.holiday(datetime(2026, 12, 24).date()) == "Cuti bersama Natal"
    assert "Jam kirim disimpan: 07:30–16:00 WIB." in admin_client.get(URL).content.decode()
    with time_machine.travel(datetime(2026, 12, 23, 16, 5, tzinfo=WIB), tick=False):
        assert conf.next_send_time("broadcast") == datetime(2026, 12, 28, 7, 30, tzinfo=WIB)
    assert admin_client.post(URL, {"action": "reset"}).status_code == 302
    assert not SendWindowSetting.objects.exists() and conf.send_window().source == "default"


@pytest.mark.parametrize(("change", "field", "error"), [
    ({"start": "25:99"}, "start", "Masukkan jam, misalnya 08:00."),
    ({"start": "pagi"}, "start", "Masukkan jam, misalnya 08:00."),
    ({"end": ""}, "end", "Masukkan jam, misalnya 08:00."),
    ({"start": "20:00", "end": "08:00"}, "end", "Jam selesai harus sesudah jam mulai"),
    ({"days": []}, "days", "Pilih sedikitnya satu hari."),
    ({"days": ["9"]}, "days", "bukan salah satu dari pilihan"),
    ({"holidays": "besok libur"}, "holidays", "bukan tanggal"),
    ({"holidays": "2026-02-30 Tidak ada"}, "holidays", "bukan tanggal"),
    ({"holidays": "9999-01-01"}, "holidays", "tahunnya harus antara 2000 dan 2100"),
    ({"start": "08\x00:00"}, "start", None),
    ({"holidays": "x" * 6000}, "holidays", None),
])
def test_bad_input_is_refused_in_indonesian_and_never_a_500(admin_client, change, field, error):
    answer = admin_client.post(URL, {**GOOD, **change})
    assert answer.status_code in (302, 400)
    if error:
        assert answer.status_code == 400 and error in answer.content.decode()
    if answer.status_code == 400:
        assert not SendWindowSetting.objects.exists()


def test_end_of_day_and_short_times(admin_client):
    assert admin_client.post(URL, {**GOOD, "start": "6", "end": "24:00"}).status_code == 302
    window = conf.send_window()
    assert conf.format_clock(window.start) == "06:00" and window.end == conf.END_OF_DAY
    assert window.open_at(datetime(2026, 12, 3, 23, 59, tzinfo=WIB))


def test_status_page_says_when_held_texts_will_go(admin_client, admin_user, settings):
    settings.SMS_SEND_WINDOW = "08:00-20:00"
    settings.SMS_SEND_DAYS = "1-5"
    with time_machine.travel(datetime(2026, 12, 3, 22, 37, tzinfo=WIB), tick=False):  # Thursday night
        for n in range(3):
            services.queue_message(to=f"08123090010{n}", text="Info", kind="broadcast")
        services.queue_message(to="081230900109", text="Kode", kind="code")  # exempt: not held
        body = admin_client.get(reverse("sms:status"), HTTP_HX_REQUEST="true").content.decode()
        assert "Di luar jam kirim: 3 pesan akan dikirim mulai 08:00 WIB, 4 Desember 2026." in body
    with time_machine.travel(datetime(2026, 12, 4, 6, 0, tzinfo=WIB), tick=False):  # the same day: no date
        admin_client.force_login(admin_user)  # a session idle since the night before has expired
        body = admin_client.get(reverse("sms:status")).content.decode()
        assert "Di luar jam kirim: 3 pesan akan dikirim mulai 08:00 WIB." in body
        assert 'href="/sms/pengaturan/"' in body
    with time_machine.travel(datetime(2026, 12, 4, 21, 0, tzinfo=WIB), tick=False):  # Friday night: Monday
        admin_client.force_login(admin_user)  # a session idle since the night before has expired
        body = admin_client.get(reverse("sms:status")).content.decode()
        assert "mulai 08:00 WIB, 7 Desember 2026" in body
    with time_machine.travel(datetime(2026, 12, 4, 9, 0, tzinfo=WIB), tick=False):
        admin_client.force_login(admin_user)  # a session idle since the night before has expired
        body = admin_client.get(reverse("sms:status")).content.decode()
        assert "Dalam jam kirim (08:00–20:00 WIB)" in body
