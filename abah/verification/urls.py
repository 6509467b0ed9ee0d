from django.urls import path

from . import views

app_name = "verification"

urlpatterns = [
    path("", views.contact, name="contact"),
    path("konfirmasi/", views.confirm, name="confirm"),
    path("kirim-ulang/", views.resend, name="resend"),
    path("batal/", views.cancel, name="cancel"),
]
