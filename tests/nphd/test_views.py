"""The NPHD screens through HTTP: the invite dialog, the list, the appointment page, Proses, Admin-only actions."""

import datetime
import re

import pytest
from django.urls import reverse

from abah.nphd import services
from abah.nphd.models import Appointment, Invitation
from abah.sms.models import Message

from .conftest import invite, make_grant, make_institution, run_worker

pytestmark = pytest.mark.django_db


def detail(appointment):
    return reverse("nphd:appointment_detail", args=[appointment.pk])


def test_grant_card_opens_the_invite_dialog_for_its_petugas(grant_a, petugas_client):
    page = petugas_client.get(reverse("grants:grant_detail", args=[grant_a.pk])).content.decode()
    url = reverse("nphd:invite", args=[grant_a.pk])
    assert f'hx-get="{url}"' in page and 'data-testid="card-undangan_nphd"' in page


def test_grant_card_is_disabled_for_other_petugas_and_before_the_sk(grant_a, petugas, client, petugas2):
    client.force_login(petugas2)
    page = client.get(reverse("grants:grant_detail", args=[grant_a.pk])).content.decode()
    assert reverse("nphd:invite", args=[grant_a.pk]) not in page
    assert client.get(reverse("nphd:invite", args=[grant_a.pk])).status_code == 403
    proposal = make_grant(make_institution("Pura Agung", phone="081230900081"), status="VERIFIKASI_FAKTUAL",
                          petugas=petugas)
    client.force_login(petugas)
    page = client.get(reverse("grants:grant_detail", args=[proposal.pk])).content.decode()
    assert reverse("nphd:invite", args=[proposal.pk]) not in page


def test_invite_dialog_is_prefilled_and_ya_records_the_invitation(grant_a, petugas_client, future):
    url = reverse("nphd:invite", args=[grant_a.pk])
    page = petugas_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Undangan NPHD: Yayasan Nurul Huda" in page
    for label in ("Negara", "Nomor Telepon", "Kontak Person", "Tanggal NPHD", ">Ya<", ">Tidak<"):
        assert label in page, label
    assert 'value="Ahmad Fauzi"' in page and "0812-3090-0095" in page
    response = petugas_client.post(url, {"region": "ID", "phone": "0812-3090-0095", "person": "Ahmad Fauzi",
                                         "date": future.isoformat()}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    invitation = Invitation.objects.get()
    assert invitation.appointment.date == future and invitation.grant == grant_a


def test_invite_dialog_refuses_several_numbers_and_past_dates(grant_a, petugas_client, today):
    url = reverse("nphd:invite", args=[grant_a.pk])
    response = petugas_client.post(url, {"region": "ID", "phone": "081230900095 / 081330900096",
                                         "person": "Ahmad", "date": (today - datetime.timedelta(days=1)).isoformat()})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Masukkan tepat satu nomor telepon genggam." in page
    assert "Tanggal NPHD tidak boleh di masa lalu." in page
    assert not Invitation.objects.exists()
    landline = petugas_client.post(url, {"region": "ID", "phone": "031 3524001", "person": "Ahmad",
                                         "date": today.isoformat()}).content.decode()
    assert "Ini bukan nomor telepon genggam (telepon rumah tidak dapat menerima SMS)." in landline
    assert not Invitation.objects.exists()


def test_list_shows_one_appointment_with_jumlah_2_to_its_petugas_only(grant_a, grant_b, petugas, client, petugas2,
                                                                       admin_user, future):
    invite(grant_a, petugas, future)
    invite(grant_b, petugas, future)
    client.force_login(petugas)
    page = client.get(reverse("nphd:appointment_list")).content.decode()
    for label in ("Undangan NPHD", "1 hasil", ">Id<", "Tanggal", "Petugas", "Jumlah", "Aksi", "Pilih aksi",
                  "Proses yang dipilih"):
        assert label in page, label
    assert "Batalkan yang dipilih" not in page  # Admin only
    assert page.count('data-testid="appointment-row"') == 1
    assert re.search(r'<td [^>]*data-testid="jumlah"[^>]*>2</td>', page)
    client.force_login(petugas2)
    page = client.get(reverse("nphd:appointment_list")).content.decode()
    assert "0 hasil" in page and 'data-testid="appointment-row"' not in page
    client.force_login(admin_user)
    page = client.get(reverse("nphd:appointment_list")).content.decode()
    assert page.count('data-testid="appointment-row"') == 1 and "Batalkan yang dipilih" in page


def test_list_sorts_by_date_newest_first_and_filters(grant_a, grant_b, petugas, petugas2, admin_client, future):
    near = invite(grant_a, petugas, future).appointment
    other = make_grant(make_institution("Gereja Bethesda", phone="081230900082"), petugas=petugas2)
    far = invite(other, petugas2, future + datetime.timedelta(days=5)).appointment
    services.appointment_process(appointment=far, by=petugas2)
    url = reverse("nphd:appointment_list")

    def ids(query=""):
        response = admin_client.get(url + query)
        return [row.pk for row in response.context["page"]]

    assert ids() == [far.pk, near.pk]
    assert ids("?o=date") == [near.pk, far.pk]
    assert ids(f"?date_from={(future + datetime.timedelta(days=1)).isoformat()}") == [far.pk]
    assert ids(f"?date_to={future.isoformat()}") == [near.pk]
    assert ids(f"?petugas={petugas.pk}") == [near.pk]
    assert ids("?notified=1") == [far.pk]
    assert ids("?notified=0") == [near.pk]


def test_appointment_page_has_the_manuals_labels(grant_a, grant_b, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    invite(grant_b, petugas, future)
    page = petugas_client.get(detail(appointment)).content.decode()
    for label in ("Sunting Undangan NPHD", "Jadwal", "Tanggal", "Petugas", "Notifikasi",
                  "Status ini menandakan apakah notifikasi pesan teks sudah dikirim kepada lembaga atau belum",
                  "Lembaga", "Jumlah", "Informasi", "Tanggal dibuat", "← Kembali", "Proses", "Sunting",
                  "Yayasan Nurul Huda", "Masjid Jami&#x27;", "Belum dikirim"):
        assert label in page, label
    assert 'data-testid="appointment-jumlah">2<' in page
    # Petugas: no cancel / resend buttons.
    for testid in ("appointment-cancel", "appointment-resend", "invitee-cancel", "invitee-resend"):
        assert testid not in page


def test_other_petugas_cannot_open_or_process(grant_a, petugas, client, petugas2, future):
    appointment = invite(grant_a, petugas, future).appointment
    client.force_login(petugas2)
    assert client.get(detail(appointment)).status_code == 403
    assert client.post(reverse("nphd:appointment_process", args=[appointment.pk])).status_code == 403
    assert not Message.objects.exists()


def test_proses_asks_ya_then_queues_and_shows_each_status(grant_a, grant_b, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    invite(grant_b, petugas, future)
    url = reverse("nphd:appointment_process", args=[appointment.pk])
    confirm = petugas_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Kirim undangan NPHD melalui SMS kepada 2 lembaga?" in confirm and ">Ya<" in confirm
    assert "Yth. Bpk/Ibu Pimpinan Yayasan Nurul Huda" in confirm  # the preview
    assert not Message.objects.exists()  # nothing before Ya
    response = petugas_client.post(url, headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"
    assert Message.objects.count() == 2
    page = petugas_client.get(detail(appointment)).content.decode()
    # Queued, not sent yet: "Antre" until a gateway accepts them (the send window is open in these tests).
    assert 'data-sent="queued"' in page and "Antre</span>" in page and "Sudah dikirim" not in page
    assert page.count('data-testid="mark-queued"') == 2 and 'hx-trigger="every 4s, abah-poll"' in page
    assert 'data-testid="process" title="Proses sudah dilakukan untuk jadwal ini."' in page  # disabled, with reason
    # Delivered / failed, as the sms app records them.
    first, second = Message.objects.order_by("id")
    Message.objects.filter(pk=first.pk).update(status="delivered")
    Message.objects.filter(pk=second.pk).update(status="failed", error_code="absent_subscriber")
    partial = petugas_client.get(detail(appointment), headers={"HX-Request": "true", "HX-Target": "nphd-invitees"})
    html = partial.content.decode()
    assert "<html" not in html and 'id="nphd-invitees"' in html and "every 4s" in html  # still live (issue 14)
    assert 'data-testid="mark-delivered"' in html and 'data-testid="mark-failed"' in html
    assert "Nomor tidak aktif: telepon mati atau di luar jangkauan" in html


def test_processing_twice_through_the_page_sends_nothing_twice(grant_a, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    url = reverse("nphd:appointment_process", args=[appointment.pk])
    petugas_client.post(url)
    response = petugas_client.post(url, follow=True)
    assert "Proses sudah dilakukan untuk jadwal ini." in response.content.decode()
    assert Message.objects.count() == 1


def test_appointment_dated_yesterday_cannot_be_processed(grant_a, petugas, petugas_client, future, today):
    appointment = invite(grant_a, petugas, future).appointment
    Appointment.objects.filter(pk=appointment.pk).update(date=today - datetime.timedelta(days=1))
    page = petugas_client.get(detail(appointment)).content.decode()
    assert 'disabled data-testid="process"' in page and "sudah lewat" in page
    response = petugas_client.post(reverse("nphd:appointment_process", args=[appointment.pk]), follow=True)
    assert "sudah lewat" in response.content.decode()
    assert not Message.objects.exists()


@pytest.mark.parametrize("name,kind", [
    ("nphd:appointment_cancel", "appointment"), ("nphd:appointment_resend", "appointment"),
    ("nphd:invitation_cancel", "invitation"), ("nphd:invitation_resend", "invitation"),
])
def test_cancel_and_resend_are_admin_only_on_the_server(grant_a, petugas, petugas_client, future, name, kind):
    invitation = invite(grant_a, petugas, future)
    services.appointment_process(appointment=invitation.appointment, by=petugas)
    pk = invitation.appointment_id if kind == "appointment" else invitation.pk
    assert petugas_client.get(reverse(name, args=[pk])).status_code == 403
    assert petugas_client.post(reverse(name, args=[pk]), {"send_text": "on"}).status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == "active" and Message.objects.count() == 1


def test_bulk_cancel_is_admin_only(grant_a, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    response = petugas_client.post(reverse("nphd:bulk_action"), {"action": "cancel", "ids": [appointment.pk],
                                                                  "confirm": "1"})
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.cancelled_at is None


def test_admin_sees_and_uses_cancel_and_resend(grant_a, grant_b, petugas, admin_client, future):
    invitation = invite(grant_a, petugas, future)
    invite(grant_b, petugas, future)
    appointment = invitation.appointment
    services.appointment_process(appointment=appointment, by=petugas)
    page = admin_client.get(detail(appointment)).content.decode()
    for testid in ("appointment-cancel", "appointment-resend", "invitee-cancel", "invitee-resend"):
        assert testid in page
    response = admin_client.post(reverse("nphd:invitation_resend", args=[invitation.pk]))
    assert response.status_code == 302
    assert Message.objects.filter(idempotency_key=f"nphd:{invitation.pk}:2").exists()
    run_worker()  # both texts went out
    admin_client.post(reverse("nphd:invitation_cancel", args=[invitation.pk]), {"send_text": "on"})
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"
    assert Message.objects.filter(idempotency_key=f"nphd:{invitation.pk}:cancel").exists()
    admin_client.post(reverse("nphd:appointment_cancel", args=[appointment.pk]))
    appointment.refresh_from_db()
    assert appointment.cancelled_at is not None
    assert not Message.objects.filter(idempotency_key__endswith=":cancel").exclude(
        idempotency_key=f"nphd:{invitation.pk}:cancel").exists()  # no text asked for the second


def test_bulk_process_asks_ya_then_processes_each_selected(grant_a, grant_b, petugas, petugas_client, future):
    one = invite(grant_a, petugas, future).appointment
    two = invite(grant_b, petugas, future + datetime.timedelta(days=1)).appointment
    url = reverse("nphd:bulk_action")
    confirm = petugas_client.post(url, {"action": "process", "ids": [one.pk, two.pk]}, headers={"HX-Request": "true"})
    assert ">Ya<" in confirm.content.decode() and not Message.objects.exists()
    response = petugas_client.post(url, {"action": "process", "ids": [one.pk, two.pk], "confirm": "1"}, follow=True)
    assert "2 jadwal diproses." in response.content.decode()
    assert Message.objects.count() == 2
    again = petugas_client.post(url, {"action": "process", "ids": [one.pk], "confirm": "1"}, follow=True)
    assert "Proses sudah dilakukan untuk jadwal ini." in again.content.decode()
    assert Message.objects.count() == 2


def test_sunting_changes_the_number_before_processing(grant_a, petugas, petugas_client, future):
    invitation = invite(grant_a, petugas, future)
    url = reverse("nphd:invitation_edit", args=[invitation.pk])
    bad = petugas_client.post(url, {"region": "ID", "phone": "0812 3090 0095; 0813 3090 0096", "person": "Ahmad"})
    assert "Masukkan tepat satu nomor telepon genggam." in bad.content.decode()
    petugas_client.post(url, {"region": "ID", "phone": "0813 3090 0077", "person": "Hadi Santoso"})
    invitation.refresh_from_db()
    assert (invitation.person, invitation.phone) == ("Hadi Santoso", "+6281330900077")
    [message] = services.appointment_process(appointment=invitation.appointment, by=petugas)
    assert message.number == "+6281330900077"
    page = petugas_client.get(url).content.decode()
    assert 'data-testid="not-editable"' in page


def test_edit_time_and_place(grant_a, petugas, petugas_client, future):
    appointment = invite(grant_a, petugas, future).appointment
    petugas_client.post(reverse("nphd:appointment_edit", args=[appointment.pk]),
                        {"time": "13:30", "place": "Gedung Negara Grahadi"})
    appointment.refresh_from_db()
    assert appointment.time == datetime.time(13, 30) and appointment.place == "Gedung Negara Grahadi"


def test_untrusted_names_are_escaped(petugas, petugas_client, future):
    grant = make_grant(make_institution("<script>alert(1)</script> Yayasan", phone="081230900083"), petugas=petugas)
    appointment = invite(grant, petugas, future).appointment
    page = petugas_client.get(detail(appointment)).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
