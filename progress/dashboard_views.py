"""My learning (`/learn/`) and certificates. (Being written.)"""

urlpatterns: list = []
