"""Page-number pagination for every API list, with 400/404 in the error envelope."""

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from lms.errors import ErrorCode, NotFoundError


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param, "1")
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["Enter a whole number of 1 or more."]})
        raw_size = request.query_params.get(self.page_size_query_param)
        if raw_size is not None and (not raw_size.isdigit() or not 1 <= int(raw_size) <= 100):
            raise ValidationError(
                {self.page_size_query_param: ["Enter a whole number between 1 and 100."]}
            )
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise NotFoundError(ErrorCode.PAGE_NOT_FOUND) from None
