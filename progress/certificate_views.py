"""The certificate pages: `/certificates/<code>/` (public by code), its PDF, and the owner's
form for the name printed on it (`/certificates/<code>/name/`)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.models import PERSON_NAME_MAX_LENGTH
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode
from lms.http import client_ip
from lms.views import error_page
from progress.certificates_pdf import (
    certificate_filename,
    certificate_issued_on,
    certificate_pdf_render,
    issue_date_format,
)
from progress.models import Certificate
from progress.selectors import certificate_get
from progress.services.certificates import (
    certificate_name_corrections_left,
    certificate_name_for,
    certificate_name_set,
)


class CertificateNameForm(forms.Form):
    # Checked for real by `certificate_name_clean` (the API gives the same answers).
    learner_name = forms.CharField(
        label=gettext_lazy("Your full name"),
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


def _certificate_context(
    request: HttpRequest, certificate: Certificate, form: CertificateNameForm | None = None
) -> dict:
    user = request.user
    is_owner = user.is_authenticated and user.pk == certificate.user_id
    context: dict = {
        "certificate": certificate,
        "learner_name": certificate.learner_name,
        "verification_url": request.build_absolute_uri(certificate.get_absolute_url()),
        "is_owner": is_owner,
        "name_max_length": PERSON_NAME_MAX_LENGTH,
    }
    # The learner deleted their account and the school keeps certificates verifiable
    # (LMS_CERTIFICATES_KEEP_ON_DELETION): the page vouches for it without the name.
    holder_deleted = certificate.user.deleted_at is not None
    context["holder_deleted"] = holder_deleted
    if not certificate.name_pending or holder_deleted:
        issued_on = certificate_issued_on(certificate)
        context.update(issued_on=issued_on, issued_on_text=issue_date_format(issued_on))
    if is_owner:
        profile_name = certificate_name_for(user=user)
        initial = {"learner_name": certificate.learner_name or profile_name}
        context.update(
            name_form=form or CertificateNameForm(initial=initial),
            corrections_left=certificate_name_corrections_left(certificate=certificate),
            # A name the profile has now that the certificate does not (it stays frozen).
            profile_name=profile_name if profile_name != certificate.learner_name else "",
        )
    return context


def _render(request: HttpRequest, certificate: Certificate, *, form=None, status=200):
    context = _certificate_context(request, certificate, form)
    return render(request, "progress/certificate_detail.html", context, status=status)


@require_safe
def certificate_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Public: anyone with the code can verify the certificate. The code (12 random
    characters) is the secret; the page shows the frozen name and title, never the email.
    Issued without a name, it asks its owner for one and tells everyone else it is not
    ready yet."""
    return _render(request, certificate_get(code=code))


@require_safe
def certificate_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The certificate as a PDF download. Public by code, like the page: whoever may see the
    page may download what it shows, and nothing more (no email, no other certificate)."""
    certificate = certificate_get(code=code)
    if certificate.user.deleted_at is not None:
        # Verifiable on its page; a printable copy without a name would certify no one.
        return error_page(
            request,
            ErrorCode.CERTIFICATE_NOT_FOUND,
            _("This certificate's holder has deleted their account: verify it on its page."),
        )
    if certificate.name_pending:
        return error_page(request, ErrorCode.CERTIFICATE_NAME_PENDING)
    pdf = certificate_pdf_render(
        certificate=certificate,
        verification_url=request.build_absolute_uri(certificate.get_absolute_url()),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=certificate_filename(certificate)
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@require_POST
@login_required
def certificate_name(request: HttpRequest, code: str) -> HttpResponse:
    """The owner gives or corrects the name on their certificate (audited; the code stays).
    Anyone else gets a 403: the page is public, its name is not theirs to change."""
    certificate = certificate_get(code=code)
    if certificate.user_id != request.user.pk:
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)
    form = CertificateNameForm(request.POST)
    status = 400
    if form.is_valid():
        first = certificate.name_pending
        try:
            certificate = certificate_name_set(
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
            text = (
                _("Your certificate now carries your name: %(name)s.")
                if first
                else _("The name on your certificate is now %(name)s.")
            )
            messages.success(request, text % {"name": certificate.learner_name})
            return redirect(certificate.get_absolute_url())
    return _render(request, certificate, form=form, status=status)


urlpatterns = [
    path("certificates/<str:code>/", certificate_detail, name="certificate_detail"),
    path("certificates/<str:code>/pdf/", certificate_pdf, name="certificate_pdf"),
    path("certificates/<str:code>/name/", certificate_name, name="certificate_name"),
]
