"""The learner's "Your data" page (/profile/data/): ask for an export of everything the
school holds about them, see the exports asked for, download a ready one (the emailed link)."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import Storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.personal_data import personal_data_sections
from analytics.export_selectors import data_export_list
from analytics.models import DataExport
from analytics.services.exports import (
    data_export_download_path,
    data_export_for_download,
    data_export_request,
    data_export_token_valid,
)
from lms.errors import ApplicationError, ErrorCode
from lms.http import client_ip
from lms.views import error_page
from media.storage import object_presigned_get, s3_configured

# A presigned S3 link made for one download click: long enough to start it, no longer.
PRESIGNED_SECONDS = 60


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def data_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            data_export_request(user=request.user, ip_address=client_ip(request))
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Your export is being prepared. We email you a download link when it is ready."),
            )
        return redirect("analytics:data")
    now = timezone.now()
    exports = [
        {
            "export": export,
            "download_path": data_export_download_path(export=export)
            if export.is_downloadable(now)
            else "",
        }
        for export in data_export_list(user=request.user)
    ]
    pending = any(row["export"].status == DataExport.Status.PENDING for row in exports)
    context = {
        "exports": exports,
        "pending": pending,
        "sections": personal_data_sections(),
        "ttl_hours": settings.LMS_DATA_EXPORT_TTL_HOURS,
    }
    return render(request, "analytics/data.html", context)


def data_export_file_response(export: DataExport) -> HttpResponse:
    """The ZIP itself: streamed from local storage, or a short presigned S3 redirect."""
    storage: Storage = export.file.storage
    filename = f"your-data-{export.ready_at:%Y-%m-%d}.zip"
    if s3_configured():
        signed = object_presigned_get(
            key=storage._normalize_name(export.file.name),
            expires=PRESIGNED_SECONDS,
            content_type="application/zip",
        )
        response: HttpResponse = HttpResponseRedirect(signed.url)
    else:
        response = FileResponse(
            export.file.open("rb"),
            as_attachment=True,
            filename=filename,
            content_type="application/zip",
        )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_safe
def data_export_download(request: HttpRequest, export_id: uuid.UUID) -> HttpResponse:
    """The emailed link: its signature must be valid (403), the export the signed-in user's
    own (someone else's is a 404, like an unknown one), ready and not expired (410)."""
    if not data_export_token_valid(export_id=export_id, token=request.GET.get("t", "")):
        return error_page(
            request,
            ErrorCode.PERMISSION_DENIED,
            _(
                "This download link is not valid. Open the link from the email, or your "
                "exports on Your data."
            ),
        )
    try:
        export = data_export_for_download(export_id=export_id, user=request.user)
    except ApplicationError as error:  # not yours (404), not ready (409), expired (410)
        return error_page(request, error.code, error.message)
    return data_export_file_response(export)
