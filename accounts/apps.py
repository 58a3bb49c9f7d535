import logging

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def _role_groups_after_migrate(sender, *, using, apps=global_apps, **kwargs) -> None:
    # The `0004_roles` migration creates the groups, but a test flush empties them (and
    # sends this signal without `apps`), and models added later need their permissions in
    # the Staff group: sync after each migrate.
    from accounts.roles import role_groups_sync

    role_groups_sync(apps=apps, using=using)


def _first_superuser_after_migrate(sender, *, using, **kwargs) -> None:
    # FIRST_SUPERUSER_EMAIL/PASSWORD: a fresh deployment gets its first admin from `migrate`
    # (only the default database holds users).
    from django.conf import settings

    email, password = settings.FIRST_SUPERUSER_EMAIL, settings.FIRST_SUPERUSER_PASSWORD
    if using != "default" or not (email or password):
        return
    if not (email and password):
        raise ImproperlyConfigured(
            "Set both FIRST_SUPERUSER_EMAIL and FIRST_SUPERUSER_PASSWORD, or neither."
        )
    from accounts.services import user_first_superuser_ensure

    user = user_first_superuser_ensure(email=email, password=password)
    if user is None:
        logger.info("FIRST_SUPERUSER_EMAIL %s has an account already: left as it is", email)
    else:
        logger.warning("Created the first superuser %s (FIRST_SUPERUSER_EMAIL)", user.email)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import (
            personal_data,  # noqa: F401 - the registry and its first section
            signals,  # noqa: F401 - connects the receivers
        )

        post_migrate.connect(
            _role_groups_after_migrate, sender=self, dispatch_uid="accounts.role_groups"
        )
        # After the role groups: the first superuser joins the Staff group.
        post_migrate.connect(
            _first_superuser_after_migrate, sender=self, dispatch_uid="accounts.first_superuser"
        )
