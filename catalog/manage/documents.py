"""Course documents: import, export, bulk create of sections and lessons."""

urlpatterns: list = []
