"""Verification fixtures: the SMS Center's locmem gateway; a helper that reads a code off the "phone"."""

import re

import pytest
from django.core.management import call_command

from abah.sms.backends import locmem
from tests.conftest import make_user

LOCMEM = {"default": {"BACKEND": "abah.sms.backends.locmem.LocmemBackend", "OPTIONS": {}}}


@pytest.fixture(autouse=True)
def _locmem_gateway(settings, monkeypatch):
    monkeypatch.delenv("SMS_GATEWAY_BACKEND", raising=False)
    monkeypatch.delenv("SMS_GATEWAY_OPTIONS", raising=False)
    settings.SMS_GATEWAYS = LOCMEM
    settings.SMS_SEND_WINDOW = ("00:00", "23:59:59")
    locmem.reset()
    yield
    locmem.reset()


def received_code(number: str) -> str:
    """Run one worker pass and return the code in the newest SMS the number received."""
    call_command("smsd", once=True)
    texts = [sms.text for sms in locmem.outbox if sms.number == number]
    assert texts, f"{number} received nothing"
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


@pytest.fixture
def newbie(db):
    """An approved Petugas who has not verified a phone yet (first login)."""
    return make_user("baru", role="petugas", first_name="Rina", phone="")


@pytest.fixture
def newbie_client(client, newbie):
    client.force_login(newbie)
    return client
