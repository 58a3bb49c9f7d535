"""Allauth adapters: filled in by the accounts work (email through Celery, Google)."""

import logging
from typing import Any

import requests
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.adapter import get_adapter as get_socialaccount_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts.models import PERSON_NAME_MAX_LENGTH, User, validate_person_name
from accounts.services import user_avatar_set
from lms.email import email_layout_context, email_queue
from lms.events import server_event_record

logger = logging.getLogger(__name__)

CODE_ATTEMPTS_EXHAUSTED = _(
    "Too many wrong codes: that code no longer works. Start again and we will send you a new one."
)


def _signed_up_record(user: User) -> None:
    """The analytics event of a new account (lms.events: accounts knows nothing of
    analytics), keyed by the user, so it is stored once."""
    server_event_record(
        type="user.signed_up", key=str(user.pk), user_id=user.pk, occurred_at=user.date_joined
    )


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: User, form, commit: bool = True) -> User:
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                _signed_up_record(user)
        return user

    # --- Email (every allauth email: codes, reset links, notifications) -----------------
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render in the request, as allauth does, then deliver through the email task.

        Allauth's own `send_mail` calls `message.send()` in the request; queueing instead
        means a slow or failing mail server costs the user nothing and gets retried.
        """
        request = allauth_context.request
        ctx = {
            **email_layout_context(request=request),
            "request": request,
            "email": email,
            "current_site": get_current_site(request) if request is not None else None,
            **context,
        }
        email_queue(message=self.render_mail(template_prefix, email, ctx))

    # --- Messages on the pages ------------------------------------------------------------
    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        # Allauth flashes its "too many failed login attempts" text only when a code (email
        # verification, sign-in code) has had its last wrong try; say what happened instead.
        if message == self.error_messages["too_many_login_attempts"]:
            message = CODE_ATTEMPTS_EXHAUSTED
        super().add_message(
            request,
            level,
            message_template=message_template,
            message_context=message_context,
            extra_tags=extra_tags,
            message=message,
        )

    # --- Signing in (browser pages and app API alike) -------------------------------------
    def pre_login(
        self,
        request: HttpRequest,
        user,
        *,
        email_verification: str,
        signal_kwargs: dict[str, Any] | None,
        email: str | None,
        signup: bool,
        redirect_url: str | None,
    ) -> HttpResponse | None:
        response = super().pre_login(
            request,
            user,
            email_verification=email_verification,
            signal_kwargs=signal_kwargs,
            email=email,
            signup=signup,
            redirect_url=redirect_url,
        )
        sociallogin = (signal_kwargs or {}).get("sociallogin")
        if response is None and sociallogin is not None:
            # The one hook that runs for every provider sign-in (new user, connected email
            # account, returning user) once the user is saved and before email verification.
            get_socialaccount_adapter(request).social_login_accepted(request, sociallogin)
        return response


def _provider_name(sociallogin: SocialLogin, data: dict) -> str:
    extra = sociallogin.account.extra_data if sociallogin.account else {}
    full = extra.get("name") if isinstance(extra, dict) else None
    if not isinstance(full, str) or not full.strip():
        full = " ".join(filter(None, (data.get("first_name"), data.get("last_name"))))
    name = " ".join(full.split())[:PERSON_NAME_MAX_LENGTH].strip()
    try:
        validate_person_name(name)
    except ValidationError:
        return ""
    return name


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """A provider without an app (Google without GOOGLE_CLIENT_ID): its pages are not found,
    while allauth's own code, which catches DoesNotExist, keeps working."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Google (and any later provider): what a provider sign-in brings into the account."""

    def get_app(self, request: HttpRequest, provider: str, client_id: str | None = None):
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(f"{provider} sign-in is not configured.") from None

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form=None) -> User:
        with transaction.atomic():
            user = super().save_user(request, sociallogin, form=form)
            _signed_up_record(user)
        return user

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict):
        user = super().populate_user(request, sociallogin, data)
        # Our User has one display name instead of first/last name fields: the provider's
        # full name (Google's `name` claim), else its given and family names. Without one
        # (or with an email address for a name) it stays empty and the learner is asked for
        # it before their first certificate shows.
        if not user.display_name:
            user.display_name = _provider_name(sociallogin, data)
        return user

    def get_signup_form_initial_data(self, sociallogin: SocialLogin) -> dict:
        # The provider sign-up form (shown when the provider gives no usable email) asks
        # for the full name too (`SignupNameForm`): prefilled with the provider's.
        return {
            **super().get_signup_form_initial_data(sociallogin),
            "name": sociallogin.user.display_name,
        }

    def social_login_accepted(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """A provider sign-in was accepted for a saved user who is about to be signed in:
        a new user, a known email connected to the provider, or a returning user.

        Called from `AccountAdapter.pre_login`, i.e. after allauth's own safety step for a
        connected email account (it wipes the password when the local address was never
        verified) and before the email-verification check, which a provider-verified
        address then passes.
        """
        user = sociallogin.user
        self._emails_mark_verified(request, user=user, sociallogin=sociallogin)
        if not user.avatar:
            self._avatar_take_over(user=user, sociallogin=sociallogin)

    def _emails_mark_verified(
        self, request: HttpRequest, *, user: User, sociallogin: SocialLogin
    ) -> None:
        # Only the addresses the provider vouches for, and only those that are the
        # user's own already (the account email or one of their EmailAddress rows).
        own = {user.email.lower()} | {
            email.lower()
            for email in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
        }
        for address in sociallogin.email_addresses:
            email = address.email.lower()
            if not address.verified or email not in own:
                continue
            email_address = EmailAddress.objects.add_email(request, user, email)
            if email_address.set_verified(commit=True):
                email_address.set_as_primary(conditional=True)

    def _avatar_take_over(self, *, user: User, sociallogin: SocialLogin) -> None:
        url = sociallogin.account.get_avatar_url()
        if not url or not url.startswith("https://"):
            return
        provider = sociallogin.account.provider
        try:
            content = self._avatar_download(url)
            user_avatar_set(user=user, upload=SimpleUploadedFile("provider-avatar", content))
        except (requests.RequestException, ValidationError) as exc:
            # The provider's picture is a nicety: without it, the header shows an initial.
            logger.info("Skipped the %s avatar of user %s: %s", provider, user.pk, exc)
        except Exception:
            # Storage trouble too (S3 down, disk full) must never stop someone signing in;
            # it is logged with its traceback for the operator.
            logger.exception("Could not store the %s avatar of user %s", provider, user.pk)

    def _avatar_download(self, url: str) -> bytes:
        limit = settings.LMS_AVATAR_MAX_BYTES
        # allauth's session carries its timeout (SOCIALACCOUNT_REQUESTS_TIMEOUT).
        with self.get_requests_session() as session:
            response = session.get(url, stream=True)
            response.raise_for_status()
            content = bytearray()
            for chunk in response.iter_content(chunk_size=64 * 1024):
                content += chunk
                if len(content) > limit:
                    raise requests.RequestException(f"the picture is over {limit} bytes")
        return bytes(content)
