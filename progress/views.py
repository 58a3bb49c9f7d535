"""The invite redeem page. Checks and writes happen in `progress.services.invite_redeem`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from catalog.access import course_is_visible
from lms.errors import ApplicationError
from lms.http import client_ip
from progress.forms import InviteRedeemForm
from progress.services import invite_redeem as invite_redeem_service


@login_required
@require_http_methods(["GET", "POST"])
def invite_redeem(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = InviteRedeemForm(initial={"code": request.GET.get("code", "").strip()})
        return render(request, "progress/invite_redeem.html", {"form": form})

    form = InviteRedeemForm(request.POST)
    error_code = None
    if form.is_valid():
        try:
            redemption = invite_redeem_service(
                code=form.cleaned_data["code"], user=request.user, ip_address=client_ip(request)
            )
        except ApplicationError as error:
            error_code = error.code
            form.add_error("code", error.message)
        else:
            course = redemption.invite.course
            if course is not None and course_is_visible(user=request.user, course=course):
                messages.success(
                    request,
                    _("Invite accepted: you are enrolled in %(course)s.") % {"course": course},
                )
                return redirect(course.get_absolute_url())
            messages.success(request, _("Invite accepted. Welcome!"))
            return redirect(reverse("catalog:home"))
    return render(
        request,
        "progress/invite_redeem.html",
        {"form": form, "error_code": error_code},
        status=400,
    )
