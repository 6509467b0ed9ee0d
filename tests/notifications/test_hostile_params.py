"""Issue 13, findings 5 and 7 in Perpesanan / Notifikasi: ?to=² on Tulis Pesan, ``next`` off site."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["²", "١٢", "10000000000000000000000000", str(2**63), "-1", "abc"])
def test_compose_ignores_a_bad_recipient_id(petugas, value):
    client = Client(raise_request_exception=False)
    client.force_login(petugas)
    assert client.get(reverse("notifications:compose"), {"to": value}).status_code == 200


def test_compose_prefills_a_good_recipient(petugas, admin_user):
    client = Client()
    client.force_login(petugas)
    response = client.get(reverse("notifications:compose"), {"to": str(admin_user.pk)})
    assert response.context["form"].initial["recipients"] == [admin_user.pk]


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "javascript:alert(1)"])
def test_mark_all_read_does_not_redirect_off_site(petugas_client, target):
    response = petugas_client.post(reverse("notifications:mark_all_read"), {"next": target})
    assert response["Location"] == reverse("notifications:list")
