"""The lesson page's question form, for learners without JavaScript (tutor.js posts the same
fields as JSON to the API)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from assistant.services.tutor import QUESTION_MAX_CHARS


class TutorQuestionForm(forms.Form):
    question = forms.CharField(
        label=_("Your question about this lesson"),
        max_length=QUESTION_MAX_CHARS,
        strip=True,
        error_messages={"required": _("Write a question for the tutor.")},
    )
    conversation = forms.UUIDField(required=False)
