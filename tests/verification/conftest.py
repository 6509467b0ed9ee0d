"""Verification fixtures: the SMS Center's locmem gateway; a helper that reads a code off the "phone"."""

import re

import pytest
from django.core.management import call_command

from abah.sms.backends import locmem
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def _locmem_gateway(locmem_gateway):
    """Every test here sends through the locmem gateway (tests/conftest.py)."""


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
