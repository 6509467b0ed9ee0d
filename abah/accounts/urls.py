from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("masuk/", views.login_view, name="login"),
    path("keluar/", views.logout_view, name="logout"),
    path("daftar/", views.register, name="register"),
    path("sandi/reset/", views.password_reset, name="password_reset"),
    path("sandi/reset/terkirim/", views.password_reset_done, name="password_reset_done"),
    path("sandi/reset/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("sandi/reset/selesai/", views.password_reset_complete, name="password_reset_complete"),
    path("profil/", views.profile, name="profile"),
    path("profil/avatar/", views.profile_avatar, name="profile_avatar"),
    path("profil/kontak/", views.profile_contact, name="profile_contact"),
    path("profil/sandi/", views.profile_password, name="profile_password"),
    path("profil/pemberitahuan/", views.profile_notifications, name="profile_notifications"),
    path("pengguna/", views.user_list, name="user_list"),
    path("pengguna/<int:pk>/setujui/", views.user_approve, name="user_approve"),
    path("pengguna/<int:pk>/tolak/", views.user_reject, name="user_reject"),
    path("pengguna/<int:pk>/peran/", views.user_role, name="user_role"),
    path("pengguna/<int:pk>/nonaktifkan/", views.user_deactivate, name="user_deactivate"),
    path("pengguna/<int:pk>/aktifkan/", views.user_activate, name="user_activate"),
]
