"""Failure reasons in the reader's language: one translated phrase per known gateway reason, the gateway's own English
words only on the Admin's status page; gateway back ends by their human names, never the class name."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from abah.sms import errors, services
from abah.sms.backends import gammu, smpp
from abah.sms.backends.health import backend_label
from abah.sms.models import Message

RAW = [  # (code, words) as the gateways record them
    ("absent_subscriber", "Absent subscriber", "Nomor tidak aktif: telepon mati atau di luar jangkauan"),
    ("ESME_RINVDSTADR", smpp.status_words(0x0B), "Nomor tujuan tidak valid"),
    ("ESME_RTHROTTLED", smpp.status_words(0x58), "Gateway meminta pengiriman diperlambat; dicoba lagi"),
    ("ESME_RSYSERR", smpp.status_words(0x08), "Gateway menolak pesan"),
    ("undeliv", "Undeliverable (err 001)", "Tidak terkirim: operator tidak dapat menyampaikannya"),
    ("expired", "Expired before it could be delivered", "Kedaluwarsa: telepon terlalu lama tidak aktif"),
    ("DeliveryFailed", "The delivery report says the message was not delivered (TP-Status 70)",
     "Tidak terkirim: operator tidak dapat menyampaikannya"),
    ("SendingError", "The modem could not send the message", "Modem tidak dapat mengirim pesan"),
    ("", "Absent subscriber", "Nomor tidak aktif: telepon mati atau di luar jangkauan"),  # the words alone
]


@pytest.mark.parametrize("code,raw,phrase", RAW)
def test_known_reasons_read_in_indonesian(code, raw, phrase):
    assert errors.reason_text(code, raw) == phrase


def test_english_reasons_in_english():
    with translation.override("en"):
        assert errors.reason_text("", "Absent subscriber") == "Number not active: the phone is off or out of reach"


def test_an_unknown_reason_is_a_translated_phrase_never_the_gateway_words():
    text = errors.reason_text("X99", "Something the operator made up")
    assert "Something" not in text and text.startswith("Tidak terkirim")
    assert errors.raw_reason("X99", "Something the operator made up") == "X99: Something the operator made up"


def test_every_failure_our_backends_record_has_a_phrase():
    codes = [name for name in smpp.STATUS_NAMES.values() if name != "ESME_ROK"]
    codes += [state.lower() for state in smpp.RECEIPT_FAILURES]
    codes += [status for status, (_final, words) in gammu.FINAL_STATUSES.items() if words]
    codes += ["taken_back", "unrecorded", "id_reused", "smpp_down", "smpp_in_flight", "encoding", "attempts",
              "lease_expired", "gateway_error", "no_answer", "throttled"]
    assert [code for code in codes if not errors.reason_key(code, "")] == []


def test_backend_human_names():
    assert backend_label("abah.sms.backends.simulator.SimulatorBackend") == "Simulator"
    assert backend_label("SmppBackend") == "SMPP"
    assert backend_label("abah.sms.backends.http.HttpBackend") == "HTTP API"
    assert backend_label("abah.sms.backends.gammu.GammuBackend") == "Modem (Gammu)"
    assert backend_label("myproject.sms.AcmeBackend") == "Acme"


def _failed(code, reason, thread):
    message = services.send_manual(conversation=thread, text="Yth. Bpk/Ibu, tes.", sender=None)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED, error_code=code, error_reason=reason,
                                                 failed_at=timezone.now())
    return message


@pytest.mark.django_db
def test_dialog_shows_the_phrase_and_status_page_keeps_the_raw_reason(admin_client, thread):
    _failed("absent_subscriber", "Absent subscriber", thread)
    dialog = admin_client.get(reverse("sms:conversation_dialog", args=[thread.pk])).content.decode()
    assert "Nomor tidak aktif: telepon mati atau di luar jangkauan" in dialog
    assert "Absent subscriber" not in dialog and "absent subscriber" not in dialog
    listing = admin_client.get(reverse("sms:message_list")).content.decode()
    assert "Absent subscriber" not in listing
    status = admin_client.get(reverse("sms:status")).content.decode()
    assert "Nomor tidak aktif: telepon mati atau di luar jangkauan" in status
    assert 'data-testid="raw-reason">(Absent subscriber)' in status


@pytest.mark.django_db
def test_status_page_names_the_backend_not_its_class(admin_client, settings):
    settings.SMS_GATEWAYS = {"default": {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend", "OPTIONS": {}}}
    body = admin_client.get(reverse("sms:status")).content.decode()
    assert "SimulatorBackend" not in body
    assert "Simulator" in body


@pytest.mark.django_db
def test_virtual_phone_reads_the_phrase_not_the_gateway_words(admin_client, settings, thread):
    from abah.sms.models import SimulatorDelivery

    settings.SMS_GATEWAYS = {"default": {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend", "OPTIONS": {}}}
    message = services.send_manual(conversation=thread, text="Yth. Bpk/Ibu, tes.", sender=None)
    SimulatorDelivery.objects.create(gateway_message_id="sim-1", client_ref=str(message.pk), number=message.number,
                                     text=message.text, due_at=timezone.now(), delivered=False,
                                     error_code="absent_subscriber", error_reason="Absent subscriber")
    body = admin_client.get(reverse("sms:simulator_phones"), {"number": message.number}).content.decode()
    assert "tidak diterima: Nomor tidak aktif: telepon mati atau di luar jangkauan" in body
    assert "Absent subscriber" not in body
