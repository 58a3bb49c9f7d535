"""Billing in the admin: plans and grants are edited, Stripe's records are read-only copies with
dashboard links and a "Sync from Stripe" action, and only staff see any of it."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from billing.models import Plan, Subscription, TierGrant
from billing.tests.factories import (
    CustomerFactory,
    PlanFactory,
    SubscriptionFactory,
    TierFactory,
)
from billing.tests.fake_stripe import fake_stripe_fixture, webhook_post  # noqa: F401
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory
from lms.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    # The MFA step of the admin has its own tests (accounts/tests/test_mfa_admin.py).
    settings.LMS_ADMIN_REQUIRE_MFA = False
    settings.STRIPE_SECRET_KEY = "sk_test_admin"


def _url(model: str, view: str, *args) -> str:
    return reverse(f"admin:billing_{model}_{view}", args=args)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _plan_form(**changes) -> dict:
    return {
        "name": "Performer",
        "slug": "performer",
        "tier": str(TierFactory(name="Performer", slug="performer", rank=3).pk),
        "description": "",
        "features": "Masterclasses",
        "stripe_price_monthly": "price_performer_m",
        "stripe_price_yearly": "price_performer_y",
        "display_price_monthly": "$39",
        "display_price_yearly": "$390",
        "is_active": "on",
        "order": "3",
        **changes,
    }


# --- Pages ---------------------------------------------------------------------------------


@pytest.fixture
def records():
    subscription = SubscriptionFactory(
        stripe_id="sub_admin1", customer=CustomerFactory(stripe_id="cus_admin1")
    )
    subscription.notices.create(kind="started")
    TierGrant.objects.create(
        user=subscription.user, tier=subscription.plan.tier, source=TierGrant.Source.STAFF
    )
    return subscription


@pytest.mark.parametrize(
    "model", ["tier", "plan", "tiergrant", "customer", "subscription"], ids=str
)
def test_staff_open_every_billing_list_and_record(staff_client, records, model):
    objects = {
        "tier": records.plan.tier,
        "plan": records.plan,
        "tiergrant": TierGrant.objects.get(),
        "customer": records.customer,
        "subscription": records,
    }

    listing = staff_client.get(_url(model, "changelist"))
    record = staff_client.get(_url(model, "change", objects[model].pk))

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert record.status_code == 200


def test_customers_and_subscriptions_link_to_the_stripe_test_dashboard(staff_client, records):
    customer_page = staff_client.get(_url("customer", "change", records.customer.pk))
    subscription_page = staff_client.get(_url("subscription", "change", records.pk))
    customer_list = staff_client.get(_url("customer", "changelist"))

    customer_link = 'href="https://dashboard.stripe.com/test/customers/cus_admin1"'
    assert customer_link in customer_page.text
    assert customer_link in customer_list.text
    assert (
        'href="https://dashboard.stripe.com/test/subscriptions/sub_admin1"'
        in subscription_page.text
    )
    assert "View in Stripe" in subscription_page.text
    # The customer's subscriptions and the subscription's emails are listed on them.
    assert "sub_admin1" in customer_page.text
    assert "Subscription started" in subscription_page.text


def test_a_live_key_links_to_the_live_dashboard(staff_client, records, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_admin"

    page = staff_client.get(_url("subscription", "change", records.pk))

    assert 'href="https://dashboard.stripe.com/subscriptions/sub_admin1"' in page.text


def test_subscriptions_are_found_by_email_or_stripe_id_and_filtered_by_status(staff_client):
    mine = SubscriptionFactory(stripe_id="sub_mine", customer__user__email="lee@example.com")
    SubscriptionFactory(stripe_id="sub_other", status=Subscription.Status.CANCELED)
    listing = _url("subscription", "changelist")

    def found(query: str) -> list[str]:
        response = staff_client.get(f"{listing}?{query}")
        return [row.stripe_id for row in response.context["cl"].result_list]

    assert found("q=lee@example.com") == ["sub_mine"]
    assert found(f"q={mine.customer.stripe_id}") == ["sub_mine"]
    assert found("status__exact=canceled") == ["sub_other"]
    assert found(f"plan__id__exact={mine.plan_id}") == ["sub_mine"]


# --- Read-only records ---------------------------------------------------------------------


def test_a_subscription_cannot_be_added_edited_or_deleted(staff_client, records):
    change_url = _url("subscription", "change", records.pk)
    page = staff_client.get(change_url)

    edit = staff_client.post(change_url, {"status": "canceled", "stripe_id": "sub_forged"})
    add = staff_client.get(_url("subscription", "add"))
    delete = staff_client.post(_url("subscription", "delete", records.pk), {"post": "yes"})

    assert 'name="_save"' not in page.text
    assert (edit.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    records.refresh_from_db()
    assert (records.stripe_id, records.status) == ("sub_admin1", "active")


def test_a_customer_cannot_be_added_edited_or_deleted(staff_client, records):
    customer = records.customer

    edit = staff_client.post(_url("customer", "change", customer.pk), {"stripe_id": "cus_forged"})
    add = staff_client.get(_url("customer", "add"))
    delete = staff_client.post(_url("customer", "delete", customer.pk), {"post": "yes"})

    assert (edit.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    customer.refresh_from_db()
    assert customer.stripe_id == "cus_admin1"


# --- Who may see billing -------------------------------------------------------------------


def test_instructors_see_no_billing_in_the_admin(client, records):
    teacher = user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None)
    client.force_login(teacher)

    index = client.get(reverse("admin:index"))
    pages = [
        client.get(_url(model, "changelist")).status_code
        for model in ("tier", "plan", "tiergrant", "customer", "subscription")
    ]
    record = client.get(_url("subscription", "change", records.pk))

    assert index.status_code == 200
    assert "/admin/billing/" not in index.text
    assert pages == [403] * 5
    assert record.status_code == 403


def test_staff_role_sees_billing_and_may_sync(client, records):
    manager = user_role_set(user=UserFactory(), role=Role.STAFF, actor=None)
    client.force_login(manager)

    listing = client.get(_url("subscription", "changelist"))

    assert listing.status_code == 200
    assert "sync_from_stripe" in listing.text


# --- Plans ---------------------------------------------------------------------------------


def test_staff_add_a_plan(staff_client):
    response = staff_client.post(_url("plan", "add"), _plan_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    plan = Plan.objects.get(slug="performer")
    assert (plan.tier.name, plan.intervals, plan.feature_list) == (
        "Performer",
        ["month", "year"],
        ["Masterclasses"],
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"stripe_price_monthly": "", "stripe_price_yearly": ""},
            "Give at least one Stripe price id, monthly or yearly.",
        ),
        (
            {"stripe_price_monthly": "price_same", "stripe_price_yearly": "price_same"},
            "The monthly and yearly prices must be different.",
        ),
        (
            {"stripe_price_monthly": "price_taken_monthly"},
            "Another plan already uses this monthly price.",
        ),
    ],
    ids=["no-price", "same-prices", "price-of-another-plan"],
)
def test_an_invalid_plan_is_refused_with_a_form_error(staff_client, changes, error):
    PlanFactory(stripe_price_monthly="price_taken_monthly")

    response = staff_client.post(_url("plan", "add"), _plan_form(**changes))

    assert response.status_code == 200
    assert error in response.text
    assert not Plan.objects.filter(slug="performer").exists()


def test_plans_are_reordered_and_taken_off_sale_from_the_list(staff_client):
    plan = PlanFactory(order=1)

    response = staff_client.post(
        _url("plan", "changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(plan.pk),
            "form-0-order": "5",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.order, plan.is_active) == (5, False)


def test_a_plan_with_subscriptions_is_not_deleted_and_the_page_says_why(staff_client, records):
    plan = records.plan
    delete_url = _url("plan", "delete", plan.pk)

    page = staff_client.get(delete_url)
    confirmed = staff_client.post(delete_url, {"post": "yes"})
    bulk = staff_client.post(
        _url("plan", "changelist"),
        {"action": "delete_selected", "_selected_action": [plan.pk], "post": "yes"},
    )

    assert page.status_code == confirmed.status_code == bulk.status_code == 200
    assert "would require deleting the following protected related objects" in page.text
    assert "sub_admin1" in page.text or str(records) in page.text
    assert Plan.objects.filter(pk=plan.pk).exists()


def test_a_plan_nobody_subscribed_to_is_deleted(staff_client):
    plan = PlanFactory()

    response = staff_client.post(_url("plan", "delete", plan.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Plan.objects.filter(pk=plan.pk).exists()


# --- Tier grants ---------------------------------------------------------------------------


def test_a_tier_granted_in_the_admin_opens_a_paid_lesson(staff_client):
    advanced = TierFactory(name="Advanced", slug="advanced", rank=2)
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=advanced)
    lesson = LessonFactory(section__course=course, body="The secret *turn pattern*.")
    learner = UserFactory(email="lee@example.com")
    lesson_url = lesson.get_absolute_url()
    client = Client()
    client.force_login(learner)
    assert "turn pattern" not in client.get(lesson_url).text

    starts = timezone.now() - timedelta(minutes=1)
    response = staff_client.post(
        _url("tiergrant", "add"),
        {
            "user": str(learner.pk),
            "tier": str(advanced.pk),
            "starts_at_0": starts.strftime("%Y-%m-%d"),
            "starts_at_1": starts.strftime("%H:%M:%S"),
            "expires_at_0": (starts + timedelta(days=30)).strftime("%Y-%m-%d"),
            "expires_at_1": starts.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    grant = TierGrant.objects.get(user=learner)
    assert (grant.tier, grant.source, grant.source_id) == (advanced, "staff", "")
    assert "turn pattern" in client.get(lesson_url).text


def test_a_grant_that_ends_before_it_starts_is_refused(staff_client):
    tier = TierFactory()
    learner = UserFactory()

    response = staff_client.post(
        _url("tiergrant", "add"),
        {
            "user": str(learner.pk),
            "tier": str(tier.pk),
            "starts_at_0": "2026-05-02",
            "starts_at_1": "10:00:00",
            "expires_at_0": "2026-05-01",
            "expires_at_1": "10:00:00",
        },
    )

    assert response.status_code == 200
    assert "A grant must end after it starts." in response.text
    assert not TierGrant.objects.exists()


def test_grants_are_filtered_by_state(staff_client):
    now = timezone.now()
    user = UserFactory()
    tier = TierFactory()
    for source_id, starts, expires in (
        ("active", now - timedelta(days=1), None),
        ("expired", now - timedelta(days=9), now - timedelta(days=2)),
        ("upcoming", now + timedelta(days=2), None),
    ):
        TierGrant.objects.create(
            user=user,
            tier=tier,
            source=TierGrant.Source.STAFF,
            source_id=source_id,
            starts_at=starts,
            expires_at=expires,
        )

    def found(state: str) -> list[str]:
        response = staff_client.get(f"{_url('tiergrant', 'changelist')}?state={state}")
        return [grant.source_id for grant in response.context["cl"].result_list]

    assert (found("active"), found("expired"), found("upcoming")) == (
        ["active"],
        ["expired"],
        ["upcoming"],
    )


def test_a_saved_grant_is_shown_read_only(staff_client):
    grant = TierGrant.objects.create(
        user=UserFactory(), tier=TierFactory(), source=TierGrant.Source.STAFF
    )

    page = staff_client.get(_url("tiergrant", "change", grant.pk))
    edit = staff_client.post(_url("tiergrant", "change", grant.pk), {"tier": ""})

    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert edit.status_code == 403


# --- Sync from Stripe ----------------------------------------------------------------------


@pytest.fixture
def stripe_subscription(fake_stripe):
    """A subscription we stored as active, which Stripe has since marked past due."""
    plan = PlanFactory()
    user = UserFactory(email="lee@example.com")
    remote_customer = fake_stripe.customer_create(email=user.email)
    remote, _ = fake_stripe.subscription_create(
        customer=remote_customer["id"], price=plan.stripe_price_monthly
    )
    fake_stripe.invoice_payment_failed(remote["id"])
    return SubscriptionFactory(
        stripe_id=remote["id"],
        customer=CustomerFactory(user=user, stripe_id=remote_customer["id"]),
        plan=plan,
        status=Subscription.Status.ACTIVE,
    )


def _sync_action(staff_client, *subscriptions):
    return staff_client.post(
        _url("subscription", "changelist"),
        {"action": "sync_from_stripe", "_selected_action": [s.pk for s in subscriptions]},
        follow=True,
    )


def test_sync_from_stripe_stores_what_stripe_says_now(staff_client, stripe_subscription):
    response = _sync_action(staff_client, stripe_subscription)

    assert response.status_code == 200
    assert _messages(response) == [f"{stripe_subscription.stripe_id}: synced, Past due."]
    stripe_subscription.refresh_from_db()
    assert stripe_subscription.status == Subscription.Status.PAST_DUE
    assert stripe_subscription.past_due_since is not None


def test_sync_reports_a_subscription_stripe_does_not_know(staff_client, stripe_subscription):
    unknown = SubscriptionFactory(stripe_id="sub_gone", customer=stripe_subscription.customer)

    response = _sync_action(staff_client, unknown)

    assert _messages(response) == [
        "sub_gone: Stripe does not know this subscription; nothing changed."
    ]
    unknown.refresh_from_db()
    assert unknown.status == Subscription.Status.ACTIVE


def test_sync_shows_a_stripe_outage_as_an_error_message(
    staff_client, stripe_subscription, fake_stripe
):
    fake_stripe.fail_next(status=500, times=10)

    response = _sync_action(staff_client, stripe_subscription)

    assert response.status_code == 200
    [message] = _messages(response)
    assert message.startswith(f"{stripe_subscription.stripe_id}: Stripe could not be read:")
    stripe_subscription.refresh_from_db()
    assert stripe_subscription.status == Subscription.Status.ACTIVE


def test_sync_without_a_stripe_key_says_payments_are_not_set_up(staff_client, records, settings):
    settings.STRIPE_SECRET_KEY = ""

    response = _sync_action(staff_client, records)

    assert _messages(response) == ["Stripe is not configured on this site: set STRIPE_SECRET_KEY."]


# --- The webhook inbox shows Stripe's events too --------------------------------------------


def test_stripe_events_are_in_the_webhook_inbox_and_replay(
    staff_client, stripe_subscription, fake_stripe, django_capture_on_commit_callbacks
):
    [event] = fake_stripe.subscription_set_status(stripe_subscription.stripe_id, "unpaid")
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_post(Client(), event).status_code == 200
    stored = WebhookEvent.objects.get(event_id=event["id"])
    inbox = reverse("admin:lms_webhookevent_changelist")

    listing = staff_client.get(f"{inbox}?provider__exact=stripe")
    page = staff_client.get(reverse("admin:lms_webhookevent_change", args=[stored.pk]))
    fake_stripe.subscription_set_status(stripe_subscription.stripe_id, "canceled")
    with django_capture_on_commit_callbacks(execute=True):
        replay = staff_client.post(
            inbox,
            {"action": "replay_selected", "_selected_action": [stored.pk]},
            follow=True,
        )

    assert [row.event_id for row in listing.context["cl"].result_list] == [event["id"]]
    assert "customer.subscription.updated" in page.text and "Attempts" in page.text
    assert _messages(replay) == ["Replayed 1 event."]
    stripe_subscription.refresh_from_db()
    assert stripe_subscription.status == Subscription.Status.CANCELED
