from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Registers the Stripe webhook handlers with the inbox (lms.webhooks).
        from billing import webhooks  # noqa: F401

        # This app's section of a person's data (export and account deletion).
        from billing import personal_data  # noqa: F401
