from django import forms

from notifications.kinds import Delivery, Kind


class PreferencesForm(forms.Form):
    """One choice of email delivery per kind a learner can be emailed about."""

    def __init__(self, *args, rows: list[tuple[Kind, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind, delivery in rows:
            self.fields[kind.key] = forms.ChoiceField(
                label=kind.label,
                help_text=kind.description,
                choices=Delivery.CHOICES,
                initial=delivery,
                widget=forms.RadioSelect,
            )
