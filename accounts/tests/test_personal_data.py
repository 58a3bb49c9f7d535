"""The registry of personal data: every foreign key to the user model of every installed
app is answered for by some section, so a new model cannot be forgotten by the export or
the account deletion."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from accounts.personal_data import personal_data_covered_fields, personal_data_sections


def _user_foreign_keys() -> set[str]:
    user_model = get_user_model()
    found = set()
    # Auto-created through tables are their M2M field's; proxies share their model's fields.
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False) or field.related_model is not user_model:
                continue
            if field.many_to_one or field.one_to_one or field.many_to_many:
                found.add(f"{model._meta.label}.{field.name}")
    return found


def test_every_foreign_key_to_the_user_is_covered_by_a_section():
    missing = _user_foreign_keys() - personal_data_covered_fields()
    assert not missing, (
        "These fields point at a user but no `personal_data` section exports/erases or "
        f"knowingly keeps them: {sorted(missing)}. Register them in the app's personal_data.py."
    )


def test_sections_name_only_fields_that_exist():
    assert personal_data_covered_fields() - _user_foreign_keys() == set()


def test_every_app_holding_personal_data_has_its_section():
    names = [section.name for section in personal_data_sections()]
    assert names == [
        "account",
        "notifications",
        "billing",
        "uploads",
        "teaching",
        "progress",
        "community",
        "activity",
        "assistant",
        "showcase",
    ]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("section", personal_data_sections(), ids=lambda section: section.name)
def test_each_section_says_what_it_holds_and_what_deletion_does(section):
    assert section.title.strip() and section.on_deletion.strip()
