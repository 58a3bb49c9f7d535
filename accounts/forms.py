"""Forms for sign-up (our part of allauth's form) and the profile page. The rules themselves
live in the services and the model; the forms only shape the input (and list the time zones
to choose from)."""

import zoneinfo
from collections import defaultdict
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.avatars import MIN_SIDE
from accounts.models import PERSON_NAME_MAX_LENGTH, User, validate_person_name
from accounts.services import user_profile_update


@cache
def time_zone_choices() -> list[tuple[str, object]]:
    """Every IANA zone the model accepts, grouped by region ("Europe" -> "Madrid"), with the
    region-less ones (UTC, ...) first."""
    plain: list[tuple[str, str]] = []
    regions: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name in sorted(zoneinfo.available_timezones()):
        region, _slash, place = name.partition("/")
        if place:
            regions[region].append((name, place.replace("_", " ")))
        else:
            plain.append((name, name))
    return [*plain, *regions.items()]


class SignupNameForm(forms.Form):
    """What sign-up asks beside allauth's own fields: the learner's full name, which their
    certificates carry. allauth builds its sign-up forms on this one (ACCOUNT_SIGNUP_FORM_CLASS):
    the browser page, the app's `/_allauth/app/v1/auth/signup` and a provider sign-up that
    needs a form (prefilled from the provider, `SocialAccountAdapter`)."""

    name = forms.CharField(
        label=_("Full name"),
        max_length=PERSON_NAME_MAX_LENGTH,
        validators=[validate_person_name],
        error_messages={"required": _("Enter your full name: your certificates carry it.")},
        help_text=_("As it should appear on your certificates."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    # The name first, then allauth's own fields in allauth's order.
    field_order = ["name", "email", "password1", "password2"]

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def signup(self, request: Any, user: User) -> None:
        # Called by allauth once the new user is saved (allauth's `custom_signup`).
        user_profile_update(user=user, display_name=self.cleaned_data["name"])


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=User._meta.get_field("display_name").max_length,
        required=False,
        help_text=_("The name the site shows for you; empty, it uses your email address."),
    )
    bio = forms.CharField(
        label=_("Bio"),
        max_length=User._meta.get_field("bio").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "A few plain-text lines about you, shown beside your name on the courses you teach."
        ),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        help_text=_("Your learning streak counts the days of this time zone."),
    )
    avatar = forms.FileField(
        label=_("Picture"),
        required=False,
        # Checked for real (decoded with Pillow) by the service; `accept` only helps pickers.
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["avatar"].help_text = _(
            "JPEG, PNG or WebP, at least %(min)s×%(min)s pixels, up to %(size)s."
        ) % {"min": MIN_SIDE, "size": filesizeformat(settings.LMS_AVATAR_MAX_BYTES)}


class AccountDeleteForm(forms.Form):
    """Deleting the account: the email address typed out, and the password when the account
    has one (re-authentication; accounts without one go through allauth's reauthentication
    flow instead, see `accounts.views.account_delete`)."""

    confirm_email = forms.CharField(
        label=_("Type your email address to confirm"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.has_usable_password():
            del self.fields["password"]

    def clean_confirm_email(self) -> str:
        typed = self.cleaned_data["confirm_email"].strip()
        if typed.lower() != self.user.email.lower():
            raise forms.ValidationError(
                _("This is not your account's email address."), code="email_mismatch"
            )
        return typed

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your password."), code="password_wrong")
        return password
