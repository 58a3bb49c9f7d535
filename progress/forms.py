from django import forms
from django.utils.translation import gettext_lazy as _


class InviteRedeemForm(forms.Form):
    """The code box of the redeem page (its template draws the input). Whether the code
    works is for `progress.services.invite_redeem` to say."""

    code = forms.CharField(
        label=_("Invite code"),
        max_length=32,
        error_messages={"required": _("Enter the code from your invite.")},
    )


class CourseJoinForm(forms.Form):
    """The join-code box. Codes are matched ignoring case and spaces by
    `progress.services.course_join`, so a code read aloud and typed with spaces still works."""

    code = forms.CharField(
        label=_("Course code"),
        max_length=32,
        error_messages={"required": _("Enter the code your teacher gave you.")},
    )
