"""Forms of the discussion pages. Values are checked again by the services, which own the
rules; these only turn text into values (a `m:ss` timestamp into seconds)."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from community.models import Report
from community.models.discussions import BODY_MAX_LENGTH, TITLE_MAX_LENGTH

_TIMESTAMP = re.compile(r"(?:(\d{1,2}):)?(\d{1,3}):([0-5]\d)|(\d{1,6})")


def timestamp_parse(text: str) -> int | None:
    """`1:15`, `1:02:03` or `75` as seconds; None for an empty value; ValueError otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(text)
    hours, minutes, seconds, plain = match.groups()
    if plain is not None:
        return int(plain)
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)


def timestamp_format(seconds: int) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TimestampField(forms.CharField):
    def to_python(self, value):
        try:
            return timestamp_parse(super().to_python(value))
        except ValueError:
            raise forms.ValidationError(
                _("Write the moment as minutes and seconds, like 1:15."), code="invalid"
            ) from None

    def run_validators(self, value):
        # CharField's validators (max_length) are for text; by now `value` is the seconds,
        # and timestamp_parse has already bounded what it accepts.
        return None


class ThreadForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    body = forms.CharField(
        label=_("Your question or topic"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Markdown works. Mention someone with @[Their Name]."),
    )
    timestamp = TimestampField(
        label=_("Moment of the video (optional)"),
        required=False,
        help_text=_("Like 1:15: the thread links to that moment."),
    )

    def __init__(self, *args, with_timestamp: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_timestamp:
            del self.fields["timestamp"]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Markdown works. Mention someone with @[Their Name]."),
    )


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=Report.Reason.choices)
    details = forms.CharField(label=_("Details (optional)"), max_length=1000, required=False)
