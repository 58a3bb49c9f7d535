"""Learning path pages: `/paths/` (the published paths), `/paths/<slug>/` (a path's courses
in order with the learner's progress, the next course, and a sign-in prompt for visitors),
and the path certificate's public page and PDF (`/certificates/path/<code>/`), which reuse
the course certificate's date, layout and PDF code.

Thin: load with the selectors, call a service, render.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.models import PERSON_NAME_MAX_LENGTH
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode
from lms.http import client_ip
from lms.markdown import render_markdown
from lms.views import error_page
from progress.certificates_pdf import (
    Printable,
    certificate_issued_on,
    issue_date_format,
    pdf_filename,
    printable_pdf_render,
)
from progress.paths.models import PathCertificate
from progress.paths.selectors import (
    path_certificate_get,
    path_get,
    path_progress_get,
    paths_list,
)
from progress.paths.services import path_certificate_name_set

PATH_ACHIEVEMENT = "has completed the learning path"


@require_safe
def path_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "progress/paths/path_list.html", {"paths": paths_list(user=request.user)}
    )


@require_safe
def path_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Draft paths exist only for staff (PATH_NOT_FOUND for everyone else)."""
    path = path_get(user=request.user, slug=slug)
    progress = path_progress_get(user=request.user, path=path)
    context = {
        "path": path,
        "progress": progress,
        "description_html": render_markdown(path.description),
    }
    return render(request, "progress/paths/path_detail.html", context)


class PathCertificateNameForm(forms.Form):
    # Checked for real by `certificate_name_clean`, like a course certificate's name.
    learner_name = forms.CharField(
        label=gettext_lazy("Your full name"),
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


def _certificate_render(
    request: HttpRequest,
    certificate: PathCertificate,
    *,
    form: PathCertificateNameForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    is_owner = user.is_authenticated and user.pk == certificate.user_id
    issued_on = certificate_issued_on(certificate)
    context = {
        "certificate": certificate,
        "verification_url": request.build_absolute_uri(certificate.get_absolute_url()),
        "is_owner": is_owner,
        "holder_deleted": certificate.user.deleted_at is not None,
        "issued_on": issued_on,
        "issued_on_text": issue_date_format(issued_on),
        "name_max_length": PERSON_NAME_MAX_LENGTH,
        "name_form": (form or PathCertificateNameForm()) if is_owner else None,
    }
    return render(request, "progress/paths/certificate_detail.html", context, status=status)


@require_safe
def path_certificate_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Public: anyone with the code can verify it (the frozen name, path and courses, never
    the email), like a course certificate."""
    return _certificate_render(request, path_certificate_get(code=code))


@require_safe
def path_certificate_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The path certificate as a PDF, drawn by the course certificate's code."""
    certificate = path_certificate_get(code=code)
    if certificate.user.deleted_at is not None:
        return error_page(
            request,
            ErrorCode.CERTIFICATE_NOT_FOUND,
            _("This certificate's holder has deleted their account: verify it on its page."),
        )
    if certificate.name_pending:
        return error_page(request, ErrorCode.CERTIFICATE_NAME_PENDING)
    printable = Printable(
        code=certificate.code,
        learner_name=certificate.learner_name,
        title=certificate.path_title,
        achievement=PATH_ACHIEVEMENT,
        issued_on=certificate_issued_on(certificate),
    )
    pdf = printable_pdf_render(
        printable=printable,
        verification_url=request.build_absolute_uri(certificate.get_absolute_url()),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True,
        filename=pdf_filename(title=certificate.path_title, code=certificate.code),
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@require_POST
@login_required
def path_certificate_name(request: HttpRequest, code: str) -> HttpResponse:
    """The owner gives the name their path certificate was issued without."""
    certificate = path_certificate_get(code=code)
    if certificate.user_id != request.user.pk:
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)
    form = PathCertificateNameForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            certificate = path_certificate_name_set(
                certificate=certificate,
                user=request.user,
                learner_name=form.cleaned_data["learner_name"],
                ip_address=client_ip(request),
            )
        except ValidationError as exc:
            form.add_error("learner_name", exc.message_dict.get("learner_name", exc.messages))
        except ApplicationError as error:
            form.add_error(None, error.message)
            status = error.status
        else:
            messages.success(
                request,
                _("Your certificate now carries your name: %(name)s.")
                % {"name": certificate.learner_name},
            )
            return redirect(certificate.get_absolute_url())
    return _certificate_render(request, certificate, form=form, status=status)
