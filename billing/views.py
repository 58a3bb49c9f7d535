"""Billing pages: pricing, the learner's billing page, and the way to and back from Stripe.

Checkout and the customer portal are Stripe's pages: the views here only start a session and
redirect (303) to it. The success page never trusts the redirect back: it asks Stripe
(`checkout_session_confirm`) and shows "processing" until Stripe says the checkout completed.
Every POST answers with a redirect and a flash message, errors included, so a refused or failed
action ends on the page it came from, never on an error page.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from billing.entitlements import (
    subscription_gives_access,
    subscription_grace_ends_at,
    subscription_is_lapsed,
)
from billing.gateway import billing_enabled
from billing.models import Plan, Subscription
from billing.selectors import (
    courses_for_plans,
    paid_courses_by_rank,
    plans_on_sale,
    subscription_current,
)
from billing.services import (
    checkout_session_confirm,
    checkout_session_create,
    plan_for_checkout,
    portal_session_create,
)
from lms.errors import ApplicationError, ErrorCode

# How many course titles a plan card names; the count says how many there are in all.
COURSES_SHOWN_PER_PLAN = 3
# The success page reloads itself this often while Stripe finishes the checkout, at most
# this many times (two minutes); then it stops and says the email will follow.
PROCESSING_REFRESH_SECONDS = 3
PROCESSING_MAX_CHECKS = 40


class CheckoutForm(forms.Form):
    plan = forms.SlugField(label=_("Plan"), max_length=60)
    interval = forms.ChoiceField(label=_("Billing"), choices=Plan.Interval.choices)


@dataclass
class PlanOffer:
    """A plan as the pricing page shows it: the plan, the paid courses it opens, and how many
    free (public and members) courses come with any account."""

    plan: Plan
    course_count: int = 0
    courses: list[dict] = field(default_factory=list)
    free_course_count: int = 0

    @property
    def tier_label(self) -> str:
        """The tier's name above the plan's, unless it would only repeat it."""
        tier = self.plan.tier.name
        return "" if tier.strip().casefold() in self.plan.name.casefold() else tier

    @property
    def courses_shown(self) -> list[dict]:
        return self.courses[:COURSES_SHOWN_PER_PLAN]

    @property
    def courses_more(self) -> int:
        return max(0, self.course_count - COURSES_SHOWN_PER_PLAN)


def _offer(plan: Plan, courses: list[dict], *, free_course_count: int = 0) -> PlanOffer:
    opened = [
        {**course, "url": reverse("progress:course_detail", args=[course["slug"]])}
        for course in courses
        if course["rank"] <= plan.tier.rank
    ]
    return PlanOffer(
        plan=plan,
        course_count=len(opened),
        courses=opened,
        free_course_count=free_course_count,
    )


def _subscription_context(subscription: Subscription | None) -> dict:
    return {
        "subscription": subscription,
        "grace_ends_at": subscription_grace_ends_at(subscription=subscription)
        if subscription
        else None,
        "past_due": subscription is not None
        and subscription.status == Subscription.Status.PAST_DUE,
        # Active by our copy, but its period ended past the grace without a renewal reaching
        # us: it opens nothing until Stripe confirms the renewal (billing.entitlements).
        "lapsed": subscription is not None and subscription_is_lapsed(subscription=subscription),
    }


# --- Pricing -----------------------------------------------------------------------------------
@require_GET
def pricing(request: HttpRequest) -> HttpResponse:
    courses = courses_for_plans()
    offers = [
        _offer(plan, courses.paid, free_course_count=courses.free_count) for plan in plans_on_sale()
    ]
    # The current subscription is the entitled one whenever there is one.
    subscription = subscription_current(user=request.user)
    entitled = (
        subscription
        if subscription is not None and subscription_gives_access(subscription=subscription)
        else None
    )
    return render(
        request,
        "billing/pricing.html",
        {
            "offers": offers,
            "billing_enabled": billing_enabled(),
            "entitled_subscription": entitled,
            **_subscription_context(subscription),
        },
    )


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    pricing_url = reverse("billing:pricing")
    if not request.user.is_authenticated:
        return redirect_to_login(pricing_url)
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form[name].label}: {error}")
        return redirect(pricing_url)
    try:
        url = checkout_session_create(
            user=request.user,
            plan=plan_for_checkout(
                slug=form.cleaned_data["plan"], interval=form.cleaned_data["interval"]
            ),
            interval=form.cleaned_data["interval"],
            success_url=request.build_absolute_uri(reverse("billing:checkout-success")),
            cancel_url=request.build_absolute_uri(reverse("billing:checkout-cancel")),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        if error.code == ErrorCode.ALREADY_SUBSCRIBED:
            return redirect("billing:account")
        return redirect(pricing_url)
    return HttpResponseRedirect(url, status=303)


# --- Back from Stripe Checkout -----------------------------------------------------------------
@login_required
@require_GET
def checkout_success(request: HttpRequest) -> HttpResponse:
    """Ask Stripe how the checkout went; CHECKOUT_NOT_FOUND (an Http404) is the 404 page."""
    session_id = request.GET.get("session_id", "").strip()
    unavailable = False
    try:
        subscription = checkout_session_confirm(user=request.user, session_id=session_id)
    except ApplicationError as error:
        if error.code == ErrorCode.BILLING_NOT_CONFIGURED:
            messages.error(request, error.message)
            return redirect("billing:account")
        if error.code != ErrorCode.BILLING_UNAVAILABLE:
            raise
        # Stripe will still tell us through the webhook; the page keeps asking meanwhile.
        subscription, unavailable = None, True
    if subscription is not None and not subscription_gives_access(subscription=subscription):
        # Checkout finished but the subscription opens nothing yet (e.g. the bank asks for
        # 3-D Secure: "incomplete"): the billing page shows it and opens the portal.
        messages.warning(
            request,
            _("Your payment needs attention before your plan opens: see the billing portal."),
        )
        return redirect("billing:account")
    if subscription is not None:
        return render(
            request,
            "billing/checkout_success.html",
            {
                "processing": False,
                "subscription": subscription,
                "plan": subscription.plan,
                "offer": _offer(subscription.plan, paid_courses_by_rank()),
            },
        )
    checks = _checks(request)
    again = urlencode({"session_id": session_id, "checks": checks + 1})
    return render(
        request,
        "billing/checkout_success.html",
        {
            "processing": True,
            "refresh_seconds": PROCESSING_REFRESH_SECONDS,
            "refresh": checks < PROCESSING_MAX_CHECKS,
            "refresh_url": f"{request.path}?{again}",
            "unavailable": unavailable,
        },
    )


def _checks(request: HttpRequest) -> int:
    """How many times the success page has asked already (its own counter in the URL)."""
    value = request.GET.get("checks", "")
    return min(int(value), PROCESSING_MAX_CHECKS) if value.isdigit() else 0


@require_GET
def checkout_cancel(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/checkout_cancel.html")


# --- The learner's billing page and Stripe's customer portal -----------------------------------
@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    subscription = subscription_current(user=request.user)
    return render(
        request,
        "billing/account.html",
        {"billing_enabled": billing_enabled(), **_subscription_context(subscription)},
    )


@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    account_url = reverse("billing:account")
    if not request.user.is_authenticated:
        return redirect_to_login(account_url)
    try:
        url = portal_session_create(
            user=request.user, return_url=request.build_absolute_uri(account_url)
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(account_url)
    return HttpResponseRedirect(url, status=303)
