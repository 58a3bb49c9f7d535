"""Billing pages (/pricing/, /billing/...) and the Stripe webhook (/webhooks/stripe/)."""

from django.urls import path

from billing import views
from billing.webhooks import stripe_webhook

app_name = "billing"

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("billing/", views.account, name="account"),
    path("billing/checkout/", views.checkout, name="checkout"),
    path("billing/checkout/success/", views.checkout_success, name="checkout-success"),
    path("billing/checkout/cancel/", views.checkout_cancel, name="checkout-cancel"),
    path("billing/portal/", views.portal, name="portal"),
    path("webhooks/stripe/", stripe_webhook, name="stripe-webhook"),
]
