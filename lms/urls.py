"""The URL map (DESIGN.md: URLs)."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from lms import health

admin.site.site_header = f"{settings.SITE_NAME} admin"
admin.site.site_title = settings.SITE_NAME
admin.site.index_title = "Courses, learners and settings"

api_v1 = [
    # Event ingestion first: the busiest endpoint resolves without trying the others.
    path("", include(("analytics.api.urls", "analytics-api"))),
    # progress before catalog: its `courses/join/` must win over catalog's `courses/<slug>/`.
    path("", include(("progress.api", "progress-api"))),
    path("", include(("catalog.api", "catalog-api"))),
    path("manage/", include(("catalog.manage.urls", "manage-api"))),
    path("", include(("catalog.bundles.api", "bundles-api"))),
    path("", include(("accounts.api", "accounts-api"))),
    path("", include(("media.api", "media-api"))),
    path("", include(("billing.api", "billing-api"))),
    path("", include(("notifications.api", "notifications-api"))),
    path("", include(("community.api.urls", "community-api"))),
    path("", include(("assistant.api.urls", "assistant-api"))),
    path("", include(("showcase.api.urls", "showcase-api"))),
]

urlpatterns = [
    # The API ahead of the pages' catch-all-free "" includes: an API call resolves without
    # trying every page pattern first (no page path starts with api/).
    path("api/v1/", include(api_v1)),
    path("", include("catalog.urls")),
    path("", include("progress.urls")),
    path("", include("billing.urls")),
    path("", include("community.urls")),
    path("", include("analytics.urls")),
    path("", include("assistant.urls")),
    path("", include("showcase.urls")),
    path("webhooks/", include("media.urls")),
    path("video-files/", include("media.file_urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # Our seams in allauth headless (the app's password change), ahead of allauth's own.
    path("_allauth/", include("accounts.headless")),
    path("_allauth/", include("allauth.headless.urls")),
    path("profile/", include("accounts.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # API docs under the site's CSP: the split view serves Swagger UI's init script from
    # /api/docs/?script instead of inline, and both pages use our CSP-clean templates.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "lms.views.bad_request"
handler403 = "lms.views.permission_denied"
handler404 = "lms.views.page_not_found"
# allauth's rate limits (it looks this name up here): the code page says "wait a moment".
handler429 = "accounts.views.rate_limited"
handler500 = "lms.views.server_error"
