from django.urls import include, path

urlpatterns = [
    path("", include("abah.core.urls")),
    path("akun/", include("abah.accounts.urls")),
    path("hibah/undangan-nphd/", include("abah.nphd.urls")),
    path("hibah/otomatis/", include("abah.automation.urls")),
    path("hibah/", include("abah.grants.urls")),
    path("sms/", include("abah.sms.urls")),
    path("notifikasi/", include("abah.notifications.urls")),
    path("verifikasi/", include("abah.verification.urls")),
    path("log-audit/", include("abah.audit.urls")),
]

handler403 = "abah.core.errors.permission_denied"
