"""Billing API (`/api/v1/billing/...`): plans on sale, my subscription, checkout and portal.

Plans are identified by slug. Checkout and the portal are Stripe's pages: the API answers with
the URL to open (in a browser or web view); what Stripe then reports reaches us through the
webhook, and `GET billing/subscription/` shows it.
"""

from datetime import datetime
from urllib.parse import urlsplit

from django.urls import path, reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.entitlements import (
    subscription_gives_access,
    subscription_grace_ends_at,
    user_active_tier_rank,
)
from billing.gateway import billing_enabled
from billing.models import Plan, Subscription, Tier
from billing.selectors import plans_on_sale, subscription_current
from billing.services import checkout_session_create, plan_for_checkout, portal_session_create
from lms.api.pagination import PageNumberPagination
from lms.api.schema import ErrorEnvelopeSerializer, error_responses

TAG = "billing"


@extend_schema_serializer(component_name="BillingTier")
class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["slug", "name", "rank"]


@extend_schema_serializer(component_name="UrlToOpen")
class UrlSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="A Stripe page to open in a browser or web view.")


# Statuses `error_responses` does not describe: Stripe down, or payments not set up here.
BILLING_DOWN = {
    502: OpenApiResponse(
        ErrorEnvelopeSerializer, description="`BILLING_UNAVAILABLE`: Stripe could not be reached."
    ),
    503: OpenApiResponse(
        ErrorEnvelopeSerializer,
        description="`BILLING_NOT_CONFIGURED`: payments are not set up on this site.",
    ),
}


# --- Plans -------------------------------------------------------------------------------------
@extend_schema_serializer(component_name="PlanPrice")
class PlanPriceSerializer(serializers.Serializer):
    display = serializers.CharField(help_text='The price as shown, e.g. "$19"; may be empty.')
    available = serializers.BooleanField(help_text="Whether the plan is sold with this billing.")


@extend_schema_serializer(component_name="PlanPrices")
class PlanPricesSerializer(serializers.Serializer):
    month = PlanPriceSerializer()
    year = PlanPriceSerializer()


@extend_schema_serializer(component_name="Plan")
class PlanSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    tier = TierSerializer()
    description = serializers.CharField()
    features = serializers.ListField(child=serializers.CharField(), source="feature_list")
    prices = serializers.SerializerMethodField()

    @extend_schema_field(PlanPricesSerializer)
    def get_prices(self, plan: Plan) -> dict:
        return {
            interval: {
                "display": (
                    plan.display_price_yearly
                    if interval == Plan.Interval.YEAR
                    else plan.display_price_monthly
                ),
                "available": bool(plan.price_id(interval)),
            }
            for interval in Plan.Interval.values
        }


class PlanListApi(APIView):
    """The plans on sale, in the order the pricing page shows them."""

    pagination_class = PageNumberPagination

    @extend_schema_serializer(component_name="PlanList")
    class OutputSerializer(serializers.Serializer):
        """A page of plans (as every API list), and whether this site takes payments."""

        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = PlanSerializer(many=True)
        billing_enabled = serializers.BooleanField(
            help_text="False when payments are not set up: plans show, checkout answers 503."
        )

    @extend_schema(
        operation_id="billing_plans_list",
        tags=[TAG],
        summary="List the plans on sale",
        description="`prices.<interval>.available` says whether the plan is sold that way.",
        responses={200: OutputSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(plans_on_sale(), request, view=self)
        response = paginator.get_paginated_response(PlanSerializer(page, many=True).data)
        response.data["billing_enabled"] = billing_enabled()
        return response


# --- My subscription ---------------------------------------------------------------------------
@extend_schema_serializer(component_name="Subscription")
class SubscriptionSerializer(serializers.Serializer):
    id = serializers.CharField(source="stripe_id", help_text="Stripe's subscription id.")
    plan = serializers.SlugField(source="plan.slug", allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=Subscription.Status.choices, help_text="As Stripe reports it."
    )
    interval = serializers.CharField(help_text='"month" or "year".')
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    past_due_since = serializers.DateTimeField(allow_null=True)
    grace_ends_at = serializers.SerializerMethodField(
        help_text="While past due: when access stops unless the payment succeeds."
    )
    entitled = serializers.SerializerMethodField(
        help_text=(
            "Whether this subscription opens its plan's tier now. False while `active` or "
            "`trialing` too when `current_period_end` is more than the grace period ago: no "
            "renewal reached us, and the subscription is being read again from Stripe."
        )
    )

    def get_grace_ends_at(self, subscription: Subscription) -> datetime | None:
        return subscription_grace_ends_at(subscription=subscription)

    def get_entitled(self, subscription: Subscription) -> bool:
        return subscription_gives_access(subscription=subscription)


class SubscriptionApi(APIView):
    """The signed-in user's current subscription and the tier they hold now."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="MySubscription")
    class OutputSerializer(serializers.Serializer):
        subscription = SubscriptionSerializer(allow_null=True)
        tier = TierSerializer(
            allow_null=True,
            help_text="The highest tier held now, from a subscription or a grant (invites).",
        )

    @extend_schema(
        operation_id="billing_subscription_get",
        tags=[TAG],
        summary="My subscription",
        description=(
            "`subscription` is the one giving access, else the latest one not ended, else the "
            "latest of all; null when the user never subscribed."
        ),
        responses={200: OutputSerializer, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        rank = user_active_tier_rank(user=request.user)
        tier = Tier.objects.filter(rank=rank).first() if rank is not None else None
        subscription = subscription_current(user=request.user)
        return Response(self.OutputSerializer({"subscription": subscription, "tier": tier}).data)


# --- Checkout and portal -----------------------------------------------------------------------
class CheckoutApi(APIView):
    """Start a Stripe Checkout for a plan; open the returned URL to pay."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="CheckoutStart")
    class InputSerializer(serializers.Serializer):
        plan = serializers.SlugField(max_length=60, help_text="The plan's slug.")
        interval = serializers.ChoiceField(choices=Plan.Interval.choices)
        # Checked by `_on_this_site` rather than URLField, which refuses hosts without a dot
        # ("localhost:8000", an intranet name) that this site may well be served at.
        success_url = serializers.CharField(
            required=False,
            max_length=2000,
            help_text=(
                "Where Stripe sends the learner after paying; an absolute URL on this site. "
                "`session_id=cs_...` is appended. Default: the site's success page."
            ),
        )
        cancel_url = serializers.CharField(
            required=False,
            max_length=2000,
            help_text="Where Stripe sends the learner on cancel; an absolute URL on this site.",
        )

        def validate_success_url(self, value: str) -> str:
            return self._on_this_site(value)

        def validate_cancel_url(self, value: str) -> str:
            return self._on_this_site(value)

        def _on_this_site(self, value: str) -> str:
            # Stripe sends the learner back here: a checkout started on this site must not
            # end on someone else's page.
            host = self.context["request"].get_host()
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or parts.netloc != host:
                raise serializers.ValidationError(
                    f"Give an absolute http(s) URL on this site ({host})."
                )
            return value

    @extend_schema(
        operation_id="billing_checkout_create",
        tags=[TAG],
        summary="Start a checkout",
        description=(
            "Creates a Stripe Checkout session and returns its URL. A new session each call: "
            "retrying is harmless, nothing is charged until the learner pays on Stripe's page. "
            "`success_url` and `cancel_url` must be on this site (same host), else 400. "
            "Errors: 404 `PLAN_NOT_FOUND` (no plan on sale with this slug and billing), "
            "409 `ALREADY_SUBSCRIBED` (switch plans in the portal), 502 `BILLING_UNAVAILABLE`, "
            "503 `BILLING_NOT_CONFIGURED`."
        ),
        request=InputSerializer,
        responses={201: UrlSerializer, **error_responses(400, 401, 404, 409), **BILLING_DOWN},
        examples=[
            OpenApiExample(
                "Monthly", value={"plan": "rookie", "interval": "month"}, request_only=True
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        plan = plan_for_checkout(slug=values["plan"], interval=values["interval"])
        url = checkout_session_create(
            user=request.user,
            plan=plan,
            interval=values["interval"],
            success_url=values.get("success_url")
            or request.build_absolute_uri(reverse("billing:checkout-success")),
            cancel_url=values.get("cancel_url")
            or request.build_absolute_uri(reverse("billing:checkout-cancel")),
        )
        return Response(UrlSerializer({"url": url}).data, status=status.HTTP_201_CREATED)


class PortalApi(APIView):
    """Open Stripe's customer portal: payment method, invoices, plan switch, cancel."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="billing_portal_create",
        tags=[TAG],
        summary="Open the billing portal",
        description=(
            "Returns the URL of a Stripe customer portal session that comes back to the site's "
            "billing page. Errors: 409 `NO_BILLING_ACCOUNT` (never checked out), "
            "502 `BILLING_UNAVAILABLE`, 503 `BILLING_NOT_CONFIGURED` (payments are off on "
            "this site, whether or not the user ever checked out)."
        ),
        request=None,
        responses={201: UrlSerializer, **error_responses(401, 409), **BILLING_DOWN},
    )
    def post(self, request: Request) -> Response:
        url = portal_session_create(
            user=request.user, return_url=request.build_absolute_uri(reverse("billing:account"))
        )
        return Response(UrlSerializer({"url": url}).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("billing/plans/", PlanListApi.as_view(), name="plan-list"),
    path("billing/subscription/", SubscriptionApi.as_view(), name="subscription"),
    path("billing/checkout/", CheckoutApi.as_view(), name="checkout"),
    path("billing/portal/", PortalApi.as_view(), name="portal"),
]
