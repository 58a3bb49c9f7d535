from django.urls import path

from progress import views

app_name = "progress"

urlpatterns = [
    path("courses/<slug:slug>/", views.course_detail, name="course_detail"),
    path(
        "courses/<slug:course_slug>/<slug:lesson_slug>/",
        views.lesson_detail,
        name="lesson_detail",
    ),
    path("invites/redeem/", views.invite_redeem, name="invite_redeem"),
]
