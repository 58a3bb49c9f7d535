"""Signed playback for lessons: tokens, the playback API and the lesson player. (Being written.)"""

urlpatterns: list = []
