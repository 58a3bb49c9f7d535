"""Billing API. (Placeholder: being written.)"""

urlpatterns = []
