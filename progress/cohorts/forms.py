"""The cohort's "Add learners" form: one box to paste addresses into."""

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from lms.errors import ApplicationError
from progress.cohorts.parsing import addresses_parse

# Generous per address (a name, brackets and a long address) yet bounded, so a wrong file
# pasted by mistake is refused by length before it is read token by token.
_CHARACTERS_PER_ADDRESS = 400


class CohortAddLearnersForm(forms.Form):
    addresses = forms.CharField(
        label=_("Email addresses"),
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "false"}),
        help_text=_(
            "Paste addresses separated by commas, semicolons, spaces or new lines; names, "
            "quotes and brackets around them are fine (Ana Lopez <ana@example.com>)."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        longest = settings.LMS_COHORT_BULK_MAX * _CHARACTERS_PER_ADDRESS
        self.fields["addresses"].max_length = longest
        self.fields["addresses"].validators.append(MaxLengthValidator(longest))

    def clean_addresses(self) -> str:
        text = self.cleaned_data["addresses"]
        try:
            emails, rejected = addresses_parse(text)
        except ApplicationError as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        if not emails and not rejected:
            raise forms.ValidationError(
                _("No email address found in the text."), code="no_addresses"
            )
        return text


class InviteAdminForm(forms.ModelForm):
    """The invite admin's form: a cohort must be one of the invite's course (chosen alone,
    it sets the course)."""

    def clean(self) -> dict:
        data = super().clean()
        cohort, course = data.get("cohort"), data.get("course")
        if cohort is not None and course is None:
            data["course"] = self.instance.course = cohort.course
        elif cohort is not None and cohort.course_id != course.pk:
            self.add_error("cohort", _("Choose a cohort of the course above."))
        return data
