from django.urls import path

from . import views

app_name = "grants"

urlpatterns = [
    path("cari/", views.search_view, name="search"),
    path("<int:pk>/", views.grant_detail, name="grant_detail"),
    path("<int:pk>/log/", views.grant_log, name="grant_log"),
    path("<int:pk>/catatan/", views.note_add, name="note_add"),
    path("<int:pk>/status/", views.grant_status, name="grant_status"),
    path("<int:pk>/tugaskan/", views.grant_assign, name="grant_assign"),
    path("<int:pk>/nphd/", views.nphd_sign, name="nphd_sign"),
    path("<int:pk>/pencairan/<int:stage>/", views.disbursement, name="disbursement"),
    path("<int:pk>/spj/", views.lpj, name="lpj"),
    path("lembaga/", views.institution_list, name="institution_list"),
    path("lembaga/<int:pk>/", views.institution_detail, name="institution_detail"),
    path("lembaga/<int:pk>/kontak/", views.contact_edit, name="contact_edit"),
    path("lembaga/<int:pk>/pesan/", views.institution_messages, name="institution_messages"),
    path("impor/", views.import_upload, name="import_upload"),
    path("impor/konfirmasi/", views.import_confirm, name="import_confirm"),
    path("impor/batal/", views.import_cancel, name="import_cancel"),
    path("tahun-anggaran/", views.fiscal_year_close, name="fiscal_year_close"),
]
