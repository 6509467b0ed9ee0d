from django.urls import path

from . import callbacks, views, window

app_name = "sms"

urlpatterns = [
    path("pesan/", views.message_list, name="message_list"),
    path("percakapan/<int:pk>/", views.conversation_dialog, name="conversation_dialog"),
    path("percakapan/<int:pk>/utas/", views.conversation_thread, name="conversation_thread"),
    path("percakapan/<int:pk>/sebelumnya/", views.conversation_older, name="conversation_older"),
    path("percakapan/<int:pk>/kirim/", views.conversation_send, name="conversation_send"),
    path("pengirim-tak-dikenal/", views.unknown_senders, name="unknown_senders"),
    path("pengirim-tak-dikenal/cari/", views.party_search, name="party_search"),
    path("pengirim-tak-dikenal/lampirkan/", views.unknown_attach, name="unknown_attach"),
    path("telepon-virtual/", views.simulator_phones, name="simulator_phones"),
    path("telepon-virtual/balas/", views.simulator_reply, name="simulator_reply"),
    path("status/", views.status, name="status"),
    path("pengaturan/", window.settings_page, name="settings"),
    path("callback/<str:gateway>/<str:token>/", callbacks.callback, name="callback"),
]
