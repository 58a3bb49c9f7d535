"""Showcase pages: /projects/ and /projects/<slug>/."""

app_name = "showcase"

urlpatterns: list = []
