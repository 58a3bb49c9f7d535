"""Drafts in the admin, driven as an editor would: the lesson page's links, the add page, the
draft's page (the current text beside the draft, the editor, Approve / Discard), and who may
see what."""

import json

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditLog
from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from assistant.models import Draft
from catalog.models import Lesson, Quiz
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:assistant_draft_add")
LIST_URL = reverse("admin:assistant_draft_changelist")
NOTES = "Step on 1-2-3.\nPause on 4.\nKeep your knees soft."
DRAFTED = "Step on 1-2-3.\nPause on 4, and breathe.\nKeep your knees soft."


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


@pytest.fixture
def ana():
    return user_role_set(
        user=UserFactory(email="ana@example.com"), role=Role.INSTRUCTOR, actor=None
    )


@pytest.fixture
def lesson(ana) -> Lesson:
    course = CourseFactory(title="Salsa Foundations", instructors=[ana])
    return LessonFactory(section=SectionFactory(course=course), title="Timing", body=NOTES)


def draft_url(draft: Draft) -> str:
    return reverse("admin:assistant_draft_change", args=[draft.pk])


def _ask(client, captured, lesson: Lesson, **fields):
    data = {
        "lesson": str(lesson.pk),
        "kind": "notes",
        "brief": "",
        "target_words": "400",
        "question_count": "5",
        **fields,
    }
    with captured(execute=True):
        return client.post(ADD_URL, data)


def test_a_lesson_page_links_to_drafting_its_notes_and_a_quiz_lesson_to_drafting_a_quiz(
    staff_client, lesson
):
    quiz_lesson = LessonFactory(section=lesson.section, kind=Lesson.Kind.QUIZ, title="Check")

    page = staff_client.get(reverse("admin:catalog_lesson_change", args=[lesson.pk]))
    quiz_page = staff_client.get(reverse("admin:catalog_lesson_change", args=[quiz_lesson.pk]))

    content = page.content.decode()
    assert f'href="{ADD_URL}?lesson={lesson.pk}&amp;kind=notes"' in content
    assert "Draft a quiz" not in content
    assert f'href="{ADD_URL}?lesson={quiz_lesson.pk}&amp;kind=quiz"' in quiz_page.content.decode()
    listed = staff_client.get(f"{LIST_URL}?lesson__id__exact={lesson.pk}")
    assert listed.status_code == 200


def test_without_a_provider_the_draft_pages_say_not_configured_and_nothing_is_asked(
    staff_client, lesson, django_capture_on_commit_callbacks
):
    page = staff_client.get(f"{ADD_URL}?lesson={lesson.pk}&kind=notes")

    assert "AI features are not configured" in " ".join(
        str(message) for message in get_messages(page.wsgi_request)
    )
    response = _ask(staff_client, django_capture_on_commit_callbacks, lesson)
    assert response.status_code == 200
    assert "AI features are not configured" in response.content.decode()
    assert not Draft.objects.exists()


def test_staff_draft_review_the_diff_edit_and_approve_into_the_lesson(
    fake_llm, staff_client, staff_user, lesson, django_capture_on_commit_callbacks
):
    fake_llm.reply(DRAFTED)

    response = _ask(staff_client, django_capture_on_commit_callbacks, lesson, brief="Breathing.")

    draft = Draft.objects.get()
    assert response.status_code == 302 and response["Location"] == draft_url(draft)
    assert draft.status == Draft.Status.READY
    page = staff_client.get(draft_url(draft)).content.decode()
    # The current text beside the draft: the changed line, removed and added; the rest same.
    assert '<td class="draft-diff-removed">Pause on 4.</td>' in page
    assert '<td class="draft-diff-added">Pause on 4, and breathe.</td>' in page
    assert '<td class="draft-diff-same">Keep your knees soft.</td>' in page
    assert 'name="_approve"' in page and "Discard" in page
    assert "What the model was given" in page and "Breathing." in page
    assert Lesson.objects.get(pk=lesson.pk).body == NOTES

    edited = DRAFTED + "\nSmile."
    response = staff_client.post(draft_url(draft), {"edited_text": edited, "_approve": "1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:catalog_lesson_change", args=[lesson.pk])
    assert Lesson.objects.get(pk=lesson.pk).body == edited
    entry = AuditLog.objects.get(action=AuditLog.Action.DRAFT_APPROVED)
    assert (entry.actor, entry.target_id, entry.details["edited"]) == (
        staff_user,
        str(draft.pk),
        True,
    )
    approved = staff_client.get(draft_url(draft)).content.decode()
    assert "Approved by" in approved and 'name="_approve"' not in approved


def test_saving_edits_keeps_them_on_the_draft_only(
    fake_llm, staff_client, lesson, django_capture_on_commit_callbacks
):
    fake_llm.reply(DRAFTED)
    _ask(staff_client, django_capture_on_commit_callbacks, lesson)
    draft = Draft.objects.get()

    staff_client.post(draft_url(draft), {"edited_text": "Mine now.", "_save": "1"})

    draft.refresh_from_db()
    assert (draft.edited_text, draft.status) == ("Mine now.", Draft.Status.READY)
    assert Lesson.objects.get(pk=lesson.pk).body == NOTES


def test_discarding_from_the_draft_page_leaves_the_lesson_alone(
    fake_llm, staff_client, lesson, django_capture_on_commit_callbacks
):
    fake_llm.reply(DRAFTED)
    _ask(staff_client, django_capture_on_commit_callbacks, lesson)
    draft = Draft.objects.get()

    response = staff_client.post(reverse("admin:assistant_draft_discard", args=[draft.pk]))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Draft.Status.DISCARDED
    assert Lesson.objects.get(pk=lesson.pk).body == NOTES
    page = staff_client.get(draft_url(draft)).content.decode()
    assert "Discarded by" in page and "Draft again" in page


def test_a_failed_draft_shows_its_code_and_offers_to_draft_again(
    fake_llm, staff_client, lesson, django_capture_on_commit_callbacks
):
    fake_llm.fail_next(500)

    _ask(staff_client, django_capture_on_commit_callbacks, lesson)

    page = staff_client.get(draft_url(Draft.objects.get())).content.decode()
    assert "AI_PROVIDER_ERROR" in page and "Draft again" in page
    assert 'name="_approve"' not in page


def test_a_quiz_edit_that_breaks_the_rules_is_shown_as_a_form_error(
    fake_llm, staff_client, lesson, django_capture_on_commit_callbacks
):
    quiz_lesson = LessonFactory(section=lesson.section, kind=Lesson.Kind.QUIZ, title="Check")
    questions = [
        {
            "kind": "single",
            "prompt": "Pause on?",
            "choices": [{"text": "4", "correct": True}, {"text": "2", "correct": False}],
            "explanation": "Four.",
        }
    ]
    fake_llm.reply(json.dumps({"questions": questions}))
    _ask(staff_client, django_capture_on_commit_callbacks, quiz_lesson, kind="quiz")
    draft = Draft.objects.get()
    assert draft.status == Draft.Status.READY
    questions[0]["choices"][1]["correct"] = True

    response = staff_client.post(
        draft_url(draft), {"edited_text": json.dumps({"questions": questions}), "_approve": "1"}
    )

    assert response.status_code == 200
    assert (
        "Question 1: A single-choice question needs exactly one correct choice (it has 2)."
        in response.content.decode()
    )
    assert not Quiz.objects.exists()


def test_an_instructor_drafts_for_their_own_course_only(
    fake_llm, ana, lesson, client, django_capture_on_commit_callbacks
):
    bo = user_role_set(user=UserFactory(email="bo@example.com"), role=Role.INSTRUCTOR, actor=None)
    theirs = LessonFactory(
        section=SectionFactory(course=CourseFactory(title="Bo bachata", instructors=[bo])),
        title="Hips",
    )
    fake_llm.reply(DRAFTED)
    client.force_login(bo)
    _ask(client, django_capture_on_commit_callbacks, theirs)
    bos_draft = Draft.objects.get()

    client.force_login(ana)
    refused = _ask(client, django_capture_on_commit_callbacks, theirs)
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert Draft.objects.count() == 1
    assert "Hips" not in client.get(LIST_URL).content.decode()
    assert client.get(draft_url(bos_draft)).status_code == 302  # "does not exist"
    discard = client.post(reverse("admin:assistant_draft_discard", args=[bos_draft.pk]))
    assert discard.status_code == 404

    _ask(client, django_capture_on_commit_callbacks, lesson)
    mine = Draft.objects.get(lesson=lesson)
    assert mine.created_by == ana and mine.status == Draft.Status.READY
    assert client.get(draft_url(mine)).status_code == 200


def test_a_learner_cannot_open_the_drafts(user_client):
    assert user_client.get(LIST_URL).status_code == 302  # to the admin's sign-in


def test_the_draft_page_runs_a_fixed_number_of_queries(
    fake_llm,
    staff_client,
    lesson,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    fake_llm.reply(DRAFTED)
    _ask(staff_client, django_capture_on_commit_callbacks, lesson)
    draft = Draft.objects.get()

    with django_assert_max_num_queries(12):
        assert staff_client.get(draft_url(draft)).status_code == 200


def test_the_lesson_search_offers_an_instructor_only_their_lessons(ana, lesson, client):
    LessonFactory(section=SectionFactory(course=CourseFactory(title="Bo bachata")), title="Hips")
    client.force_login(ana)

    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "assistant", "model_name": "draft", "field_name": "lesson", "term": ""},
    ).json()

    assert [result["text"] for result in found["results"]] == ["Timing"]


def test_a_staff_member_without_superuser_rights_reviews_drafts(lesson, client):
    sam = user_role_set(user=UserFactory(email="sam@example.com"), role=Role.STAFF, actor=None)
    client.force_login(sam)

    assert client.get(LIST_URL).status_code == 200
    assert client.get(f"{ADD_URL}?lesson={lesson.pk}&kind=notes").status_code == 200
