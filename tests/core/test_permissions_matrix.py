"""Every URL of the project declares who may open it, and the server enforces it (anonymous, Petugas, Admin)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from abah.core.access import required_role


def iter_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from iter_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


def concrete_path(route: str) -> str:
    route = route.lstrip("^").rstrip("$")
    route = re.sub(r"<int:[^>]+>", "999999", route)
    route = re.sub(r"<(?:str|slug|uuid|path):[^>]+>|<[^>]+>", "x", route)
    return "/" + route


ALL = list(iter_patterns())


def test_every_view_declares_its_rule():
    undeclared = [f"{ns}:{p.name} ({route})" for route, p, ns in ALL if required_role(p.callback) == ""]
    assert undeclared == [], "views without a declared access rule (use admin_required/staff_required/login_only)"


@pytest.mark.django_db
@pytest.mark.parametrize("route,pattern,ns", ALL, ids=[f"{ns}:{p.name}" for _r, p, ns in ALL])
def test_permission_matrix(client, route, pattern, ns, django_user_model):
    from tests.conftest import make_user

    rule = required_role(pattern.callback)
    path = concrete_path(route)

    anonymous = client.get(path)
    if rule == "public":
        assert anonymous.status_code != 403
    else:
        assert anonymous.status_code == 302 and "/akun/masuk/" in anonymous["Location"], path

    petugas = make_user("matrixpetugas", role="petugas")
    client.force_login(petugas)
    response = client.get(path)
    if rule == "admin":
        assert response.status_code == 403, path
    else:
        assert response.status_code != 403, path

    admin = make_user("matrixadmin", role="admin")
    client.force_login(admin)
    response = client.get(path)
    assert response.status_code != 403, path
