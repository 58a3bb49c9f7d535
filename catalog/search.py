"""Course search: PostgreSQL full-text search over a GIN index, a simple fallback elsewhere.

The expression below is the one the GIN index in migration 0002 is built on; keep them equal
or PostgreSQL stops using the index.
"""

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connections
from django.db.models import Q, QuerySet

SEARCH_CONFIG = "english"


def course_search_vector() -> SearchVector:
    return (
        SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("subtitle", weight="B", config=SEARCH_CONFIG)
        + SearchVector("description", weight="C", config=SEARCH_CONFIG)
    )


def course_search(queryset: QuerySet, *, text: str) -> QuerySet:
    """Courses matching `text`, best matches first on PostgreSQL."""
    text = text.strip()
    if not text:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
        return (
            queryset.annotate(
                search=course_search_vector(), rank=SearchRank(course_search_vector(), query)
            )
            .filter(search=query)
            .order_by("-rank", "-published_at", "title")
        )
    # Fallback (SQLite): every word must appear in the title, subtitle or description.
    for word in text.split()[:8]:
        queryset = queryset.filter(
            Q(title__icontains=word) | Q(subtitle__icontains=word) | Q(description__icontains=word)
        )
    return queryset
