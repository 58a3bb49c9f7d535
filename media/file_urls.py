"""Video files served from local storage through signed URLs, mounted at `/video-files/`."""

from django.urls import path

from media.video_files import video_file_serve

urlpatterns = [
    path("<uuid:video_id>/", video_file_serve, name="video-file"),
]
