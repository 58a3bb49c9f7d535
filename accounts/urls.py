from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.profile, name="profile"),
    path("avatar/remove/", views.avatar_remove, name="avatar_remove"),
    path("sessions/<int:session_id>/revoke/", views.session_revoke, name="session_revoke"),
    path("delete/", views.account_delete, name="delete"),
    path("deleted/", views.account_deleted, name="deleted"),
]
