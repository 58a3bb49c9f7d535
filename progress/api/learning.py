"""Learning API: enrollment, join codes, progress, resume, sync, dashboard, certificates."""

urlpatterns: list = []
