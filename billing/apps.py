from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Register the Stripe webhook handlers with the inbox (lms.webhooks), and this
        # app's section of a person's data (export and account deletion).
        import billing.personal_data
        import billing.webhooks  # noqa: F401
