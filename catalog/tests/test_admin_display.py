"""What an editor reads on the admin pages: one "Accounts", one lessons column, no "None"."""

import re

import pytest
from django.apps import apps
from django.urls import reverse

from accounts.apps import AccountsConfig
from catalog.services import course_join_code_rotate
from catalog.tests.factories import CourseFactory, course_with_lessons

pytestmark = pytest.mark.django_db


def _cells(html: str, css_class: str) -> list[str]:
    """The text of every readonly cell (or field) with this class, tags stripped."""
    pattern = rf'<(?:td|div) class="[^"]*\b{css_class}\b[^"]*">(.*?)</(?:td|div)>'
    cells = re.findall(pattern, html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]


def test_admin_index_names_accounts_once_and_email_addresses_apart(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    captions = re.findall(r"<caption>\s*<a [^>]*>([^<]+)</a>", html)
    assert captions.count("Accounts") == 1
    assert "Email addresses" in captions
    assert len(captions) == len(set(captions))
    # Renaming allauth's app left ours to its own config (signals and all).
    assert type(apps.get_app_config("accounts")) is AccountsConfig


def test_sections_inline_has_one_lessons_column_and_no_none_row(admin_client):
    course = course_with_lessons(3, sections=2)

    html = admin_client.get(reverse("admin:catalog_course_change", args=[course.pk])).content
    html = html.decode()

    inline = html[html.index('id="sections-group"') :]
    inline = inline[: inline.index("</fieldset>")]
    headers = [
        re.sub(r"<[^>]+>|\s+", " ", header).strip()
        for header in re.findall(r"<th[^>]*class=\"column-[^\"]*\"[^>]*>(.*?)</th>", inline, re.S)
    ]
    assert [header for header in headers if "lesson" in header.lower()] == ["Lessons"]
    assert ">None<" not in inline and "<p>None</p>" not in inline
    assert _cells(inline, "field-section_lessons")[:2] == [
        "2 lessons · Edit lessons",
        "1 lesson · Edit lessons",
    ]


def test_join_link_is_hidden_without_a_code_and_shown_with_one(admin_client):
    course = CourseFactory(join_code=None)
    url = reverse("admin:catalog_course_change", args=[course.pk])

    html = admin_client.get(url).content.decode()

    assert "Join link" not in html
    assert "None" not in " ".join(_cells(html, "field-join_code_display"))
    assert "Off: nobody can join by code." in html

    course_join_code_rotate(course=course)
    html = admin_client.get(url).content.decode()
    assert "Join link" in html
    assert f"/courses/join/?code={course.join_code}" in html


def test_section_page_lessons_inline_has_no_none_in_the_new_row(admin_client):
    course = course_with_lessons(2)
    section = course.sections.get()

    html = admin_client.get(reverse("admin:catalog_section_change", args=[section.pk])).content
    html = html.decode()

    inline = html[html.index('id="lessons-group"') :]
    assert "<p>None</p>" not in inline
