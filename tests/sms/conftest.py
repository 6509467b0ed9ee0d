"""SMS fixtures: the locmem gateway by default, a thread with a party, and a worker pass."""

import pytest
from django.core.management import call_command

from abah.sms import services

SIMULATOR = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {"dlr_delay": [0, 0], "dead_suffixes": ["0000"]},
    }
}


@pytest.fixture(autouse=True)
def _locmem_gateway(locmem_gateway):
    """Every test here sends through the locmem gateway (tests/conftest.py)."""


@pytest.fixture
def simulator(settings):
    settings.SMS_GATEWAYS = SIMULATOR
    return SIMULATOR


@pytest.fixture
def thread(db):
    return services.conversation_for(party_type="test.party", party_id="7", title="Yayasan Contoh", number="081230900095")


def run_worker(**options):
    call_command("smsd", once=True, **options)


@pytest.fixture
def petugas_only_client(petugas):
    """A second client logged in as Petugas (admin_client and petugas_client share one client)."""
    from django.test import Client

    client = Client()
    client.force_login(petugas)
    return client
