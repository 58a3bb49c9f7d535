from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Course


class CatalogFilterForm(forms.Form):
    """The catalog's search box and filters, read from the query string.

    An unknown type or difficulty is an error the visitor sees (HTTP 400), never silently
    dropped: a link that filtered on it would otherwise show unrelated courses.
    """

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Search courses, styles, topics…"),
                "autocomplete": "off",
                "enterkeyhint": "search",
            }
        ),
    )
    type = forms.ChoiceField(
        label=_("Type"),
        required=False,
        choices=[("", _("All types")), *Course.CourseType.choices],
        error_messages={"invalid_choice": _("“%(value)s” is not a course type we offer.")},
    )
    difficulty = forms.ChoiceField(
        label=_("Difficulty"),
        required=False,
        choices=[("", _("All levels")), *Course.Difficulty.choices],
        error_messages={"invalid_choice": _("“%(value)s” is not a difficulty level we offer.")},
    )
