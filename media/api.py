"""Uploads API: presigned uploads to the default storage, confirm, signed reads. (Being written.)"""

urlpatterns: list = []
