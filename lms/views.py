"""Error pages: HTML for the site, the JSON envelope for anything under /api/."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token

from lms.api.exceptions import error_body
from lms.errors import CATALOG, ApplicationError, ErrorCode


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _error(request: HttpRequest, template: str, code: ErrorCode, exception=None) -> HttpResponse:
    status = CATALOG[code].status
    if isinstance(exception, ApplicationError):
        code, message = exception.code, exception.message
    else:
        message = CATALOG[code].message
    if _wants_json(request):
        return JsonResponse(error_body(code, message), status=status)
    html = render_to_string(template, {"message": message, "code": code}, request=request)
    return HttpResponse(html, status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return _error(request, "errors/400.html", ErrorCode.BAD_REQUEST, exception)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _error(request, "errors/403.html", ErrorCode.PERMISSION_DENIED, exception)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _error(request, "errors/404.html", ErrorCode.NOT_FOUND, exception)


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # Keep this page free of anything that could fail again (no database, no user).
    if _wants_json(request):
        return JsonResponse(error_body(ErrorCode.SERVER_ERROR), status=500)
    return HttpResponse(render_to_string("errors/500.html"), status=500)
