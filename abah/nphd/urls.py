from django.urls import path

from . import views

app_name = "nphd"

urlpatterns = [
    path("", views.appointment_list, name="appointment_list"),
    path("aksi/", views.bulk_action, name="bulk_action"),
    path("hibah/<int:grant_pk>/undang/", views.invite, name="invite"),
    path("<int:pk>/", views.appointment_detail, name="appointment_detail"),
    path("<int:pk>/sunting/", views.appointment_edit, name="appointment_edit"),
    path("<int:pk>/proses/", views.appointment_process, name="appointment_process"),
    path("<int:pk>/batal/", views.appointment_cancel, name="appointment_cancel"),
    path("<int:pk>/kirim-ulang/", views.appointment_resend, name="appointment_resend"),
    path("lembaga/<int:pk>/", views.invitation_edit, name="invitation_edit"),
    path("lembaga/<int:pk>/batal/", views.invitation_cancel, name="invitation_cancel"),
    path("lembaga/<int:pk>/kirim-ulang/", views.invitation_resend, name="invitation_resend"),
]
