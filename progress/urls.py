from django.urls import path

from catalog.attachments import lesson_attachment_download
from catalog.outline.versions import catalog_version_with
from lms.pagecache import anonymous_page
from progress import certificate_views, dashboard_views, quiz_views, views
from progress.paths import urls as path_urls

app_name = "progress"

# Anonymous visitors get the course page and the lesson pages open to them from the cache
# (lms.pagecache): keyed by the catalog's version, which every course's change bumps.
cached_course_page = anonymous_page(version=catalog_version_with, course_kwarg="slug")
cached_lesson_page = anonymous_page(version=catalog_version_with, course_kwarg="course_slug")

urlpatterns = [
    # Before `courses/<slug>/`: "join" is a reserved course slug (catalog.models).
    path("courses/join/", views.course_join, name="course_join"),
    path("courses/<slug:slug>/", cached_course_page(views.course_detail), name="course_detail"),
    # Before the lesson page, whose slug would otherwise swallow these two words.
    path("courses/<slug:slug>/enroll/", views.course_enroll, name="course_enroll"),
    path("courses/<slug:slug>/unenroll/", views.course_unenroll, name="course_unenroll"),
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/",
        cached_lesson_page(views.lesson_detail),
        name="lesson_detail",
    ),
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/complete/",
        views.lesson_complete,
        name="lesson_complete",
    ),
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/files/<uuid:file_id>/",
        lesson_attachment_download,
        name="lesson_attachment",
    ),
    *quiz_views.urlpatterns,
    *dashboard_views.urlpatterns,
    *certificate_views.urlpatterns,
    path("invites/redeem/", views.invite_redeem, name="invite_redeem"),
    *path_urls.urlpatterns,
]
