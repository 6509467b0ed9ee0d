"""A form posted without its CSRF token gets the Indonesian page, not Django's English one."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_csrf_failure_page_is_indonesian(petugas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(petugas)
    response = client.post("/akun/keluar/", {})
    assert response.status_code == 403
    body = response.content.decode()
    assert "Formulir sudah kedaluwarsa" in body and "CSRF verification failed" not in body
