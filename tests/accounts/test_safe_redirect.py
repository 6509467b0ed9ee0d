"""Issue 13, finding 7: the Admin's user actions follow ``next`` only to this site's own paths."""

import pytest
from django.urls import reverse

from tests.conftest import make_user

pytestmark = pytest.mark.django_db
EVIL = ["https://evil.example", "//evil.example", "javascript:alert(1)", "/\\evil.example", "https:evil.example",
        "http://testserver@evil.example/"]


@pytest.mark.parametrize("target", EVIL)
@pytest.mark.parametrize("action", ["user_deactivate", "user_activate", "user_reject"])
def test_user_actions_do_not_redirect_off_site(admin_client, action, target):
    other = make_user("budi", role="petugas" if action != "user_reject" else "", active=action != "user_activate")
    response = admin_client.post(reverse(f"accounts:{action}", args=[other.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user_list")


def test_user_actions_go_back_to_the_page_they_came_from(admin_client):
    other = make_user("budi", role="petugas")
    back = reverse("accounts:user_list") + "?state=active&page=2"
    response = admin_client.post(reverse("accounts:user_deactivate", args=[other.pk]), {"next": back})
    assert response["Location"] == back
