"""Progress API (`/api/v1/`): one module per part, their routes joined here."""

from progress.api import (
    attachments,
    certificates,
    dashboard,
    invites,
    learning,
    playback,
    quizzes,
    sync,
)
from progress.paths import api as paths_api

urlpatterns = [
    *invites.urlpatterns,
    *learning.urlpatterns,
    *sync.urlpatterns,
    *dashboard.urlpatterns,
    *certificates.urlpatterns,
    *quizzes.urlpatterns,
    *playback.urlpatterns,
    *attachments.urlpatterns,
    *paths_api.urlpatterns,
]
