from django.urls import path

from catalog import views
from catalog.outline.versions import catalog_version_with
from lms.pagecache import anonymous_page

app_name = "catalog"

# Anonymous visitors get these pages from the cache (lms.pagecache), kept per query string
# of the parameters the catalog reads.
cached = anonymous_page(version=catalog_version_with)
cached_catalog = anonymous_page(
    version=catalog_version_with, params=("q", "type", "difficulty", "page")
)

urlpatterns = [
    path("", cached(views.home), name="home"),
    path("courses/", cached_catalog(views.course_list), name="course_list"),
]
