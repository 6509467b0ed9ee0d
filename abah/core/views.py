"""Dashboard, language switch, health check and protected media."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.i18n import set_language as django_set_language
from django.views.static import serve

from .access import login_only, staff_required
from .dashboard import dashboard_sections


@staff_required
def dashboard(request):
    return render(request, "core/dashboard.html", {"sections": dashboard_sections(request)})


set_language = login_not_required(django_set_language)


@login_not_required
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_only
def media(request, path):
    """Uploaded files (avatars) are only for signed-in users."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)
