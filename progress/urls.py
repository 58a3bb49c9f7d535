from django.urls import path

from progress import views

app_name = "progress"

urlpatterns = [
    path("redeem/", views.invite_redeem, name="invite_redeem"),
]
