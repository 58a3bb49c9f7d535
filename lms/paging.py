"""Page-number pagination for the HTML lists that `templates/_pagination.html` links."""

from collections.abc import Sequence
from typing import Any

from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

from lms.errors import ErrorCode, NotFoundError


def page_get(*, request: HttpRequest, items: QuerySet | Sequence[Any], per_page: int) -> Page:
    """The page `?page=` asks for (the first without one), with `page.numbers`, the elided
    range the template links. A page that does not exist, or is no number, is a 404
    (PAGE_NOT_FOUND)."""
    paginator = Paginator(items, per_page)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage as error:
        raise NotFoundError(ErrorCode.PAGE_NOT_FOUND) from error
    page.numbers = paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1)
    return page
