app_name = "progress"
urlpatterns: list = []
