from django.urls import path

from progress import dashboard_views, quiz_views, views

app_name = "progress"

urlpatterns = [
    path("courses/<slug:slug>/", views.course_detail, name="course_detail"),
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/",
        views.lesson_detail,
        name="lesson_detail",
    ),
    *quiz_views.urlpatterns,
    *dashboard_views.urlpatterns,
    path("invites/redeem/", views.invite_redeem, name="invite_redeem"),
]
