"""Page-number pagination for every API list, with 400/404 in the error envelope."""

import re

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

from lms.errors import ErrorCode, NotFoundError

# ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() then refuses.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param, "1")
        if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["Enter a whole number of 1 or more."]})
        raw_size = request.query_params.get(self.page_size_query_param)
        if raw_size is not None and (
            not _WHOLE_NUMBER.fullmatch(raw_size) or not 1 <= int(raw_size) <= self.max_page_size
        ):
            raise ValidationError(
                {self.page_size_query_param: ["Enter a whole number between 1 and 100."]}
            )
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise NotFoundError(ErrorCode.PAGE_NOT_FOUND) from None

    def get_schema_operation_parameters(self, view):
        """DRF's two parameters, with the bounds `paginate_queryset` enforces."""
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1, "maximum": 999_999_999},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
