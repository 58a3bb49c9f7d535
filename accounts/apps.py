from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _role_groups_after_migrate(sender, *, using, apps=global_apps, **kwargs) -> None:
    # The `0004_roles` migration creates the groups, but a test flush empties them (and
    # sends this signal without `apps`), and models added later need their permissions in
    # the Staff group: sync after each migrate.
    from accounts.roles import role_groups_sync

    role_groups_sync(apps=apps, using=using)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from accounts import signals  # noqa: F401 - connects the receivers

        post_migrate.connect(
            _role_groups_after_migrate, sender=self, dispatch_uid="accounts.role_groups"
        )
