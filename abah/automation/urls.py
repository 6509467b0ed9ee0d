from django.urls import path

from . import views

app_name = "automation"

urlpatterns = [
    path("templat/", views.template_list, name="template_list"),
    path("templat/<str:kind>/", views.template_edit, name="template_edit"),
    path("templat/<str:kind>/pratinjau/", views.template_preview, name="template_preview"),
    path("templat/<str:kind>/versi/<int:pk>/pulihkan/", views.template_restore, name="template_restore"),
    path("siaran/", views.broadcast_list, name="broadcast_list"),
    path("siaran/baru/", views.broadcast_new, name="broadcast_new"),
    path("siaran/<int:pk>/", views.broadcast_detail, name="broadcast_detail"),
    path("siaran/<int:pk>/progres/", views.broadcast_progress, name="broadcast_progress"),
    path("siaran/<int:pk>/batal/", views.broadcast_cancel, name="broadcast_cancel"),
    path("hibah/<int:pk>/pengingat-lpj/", views.reminder_pause, name="reminder_pause"),
]
