"""Learning path pages (`/paths/`) and path certificates (`/certificates/path/<code>/`),
joined into `progress.urls`. Path certificate codes are upper-case letters and digits, so
`certificates/path/...` never meets a course certificate's `certificates/<code>/...`."""

from django.urls import path

from progress.paths import views

urlpatterns = [
    path("paths/", views.path_list, name="path_list"),
    path("paths/<slug:slug>/", views.path_detail, name="path_detail"),
    path(
        "certificates/path/<str:code>/",
        views.path_certificate_detail,
        name="path_certificate_detail",
    ),
    path(
        "certificates/path/<str:code>/pdf/",
        views.path_certificate_pdf,
        name="path_certificate_pdf",
    ),
    path(
        "certificates/path/<str:code>/name/",
        views.path_certificate_name,
        name="path_certificate_name",
    ),
]
