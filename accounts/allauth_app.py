"""allauth's `account` app under another name.

It calls itself "Accounts", like ours, so the admin's sidebar said "Accounts" twice; what it
holds there is the email addresses, so it says that. Kept out of `accounts/apps.py`: a second
AppConfig there would stop Django from picking `AccountsConfig` for "accounts".
"""

from allauth.account.apps import AccountConfig
from django.utils.translation import gettext_lazy as _


class AllauthAccountConfig(AccountConfig):
    verbose_name = _("Email addresses")
