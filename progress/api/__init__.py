"""Progress API (`/api/v1/`): one module per part, their routes joined here."""

from progress.api import invites, learning, quizzes

urlpatterns = [*invites.urlpatterns, *learning.urlpatterns, *quizzes.urlpatterns]
