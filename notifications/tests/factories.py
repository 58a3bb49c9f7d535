import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from notifications.kinds import Delivery
from notifications.models import Notification, NotificationPreference


class NotificationFactory(factory.django.DjangoModelFactory):
    """A stored notification (as `notification_send` leaves it, without the email)."""

    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    kind = "reply"
    title = factory.Sequence(lambda n: f"Ana replied to your post #{n}")
    body = "Nice question."
    url = "/courses/demo/intro/"
    source = factory.Sequence(lambda n: f"test:{n}")
    created_at = factory.LazyFunction(timezone.now)
    email_delivery = Delivery.OFF


class NotificationPreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationPreference

    user = factory.SubFactory(UserFactory)
    kind = "reply"
    delivery = Delivery.DAILY
