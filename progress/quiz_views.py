"""The quiz on a lesson page: its panel and the submit view. (Being written.)"""

urlpatterns: list = []
