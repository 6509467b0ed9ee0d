from django.urls import path

from . import views, views_failed

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("<int:pk>/buka/", views.notification_open, name="open"),
    path("baca-semua/", views.notification_mark_all_read, name="mark_all_read"),
    path("pesan/", views.inbox, name="inbox"),
    path("pesan/terkirim/", views.sent, name="sent"),
    path("pesan/tulis/", views.compose, name="compose"),
    path("pesan/baca-semua/", views.message_mark_all_read, name="message_mark_all_read"),
    path("pesan/<int:pk>/", views.message_detail, name="message_detail"),
    path("pesan/<int:pk>/balas/", views.reply, name="reply"),
    path("pesan-gagal/", views_failed.failed_list, name="failed_list"),
    path("pesan-gagal/<int:pk>/kirim-ulang/", views_failed.failed_resend, name="failed_resend"),
]
