"""The tutor's pages: the lesson page's panel in each of its states, the no-JS question form,
a learner's conversations (theirs only) and reporting an answer."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from assistant.models import Conversation, Message, TutorQuota, TutorUsage
from assistant.services.tutor_quota import tutor_day_bounds
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesson():
    section = SectionFactory(course=CourseFactory(title="Salsa Foundations", slug="salsa"))
    LessonFactory(section=section, title="Timing", slug="timing", body="Count *one two three*.")
    return LessonFactory(
        section=section, title="Basic step", slug="basic-step", body="Step forward on one."
    )


@pytest.fixture
def learner(client):
    learner = UserFactory(email="ana@example.com", display_name="Ana")
    client.force_login(learner)
    return learner


def _conversation(*, user, lesson, question="Which foot first?", answer="The left one [1]."):
    conversation = Conversation.objects.create(user=user, lesson=lesson)
    Message.objects.create(conversation=conversation, role=Message.Role.USER, text=question)
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        text=answer,
        citations=[
            {"lesson": str(lesson.pk), "title": lesson.title, "url": lesson.get_absolute_url()}
        ],
    )
    return conversation, reply


def _panel(response) -> str:
    html = response.content.decode()
    start = html.find('id="tutor"')
    return "" if start == -1 else html[start : html.find("</section>", start)]


# --- The panel's states ----------------------------------------------------------------------
def test_the_panel_says_the_tutor_is_not_configured(client, learner, lesson):
    panel = _panel(client.get(lesson.get_absolute_url()))

    assert "Ask the tutor" in panel
    assert "The tutor is not configured on this site yet." in panel
    assert 'id="tutor-form"' not in panel


def test_the_panel_says_the_tutor_is_not_in_a_plan_whose_quota_is_zero(
    client, learner, lesson, fake_llm
):
    TutorQuota.objects.create(tier=None, questions_per_day=0)

    panel = _panel(client.get(lesson.get_absolute_url()))

    assert "The tutor is not in your plan." in panel
    assert reverse("billing:pricing") in panel
    assert 'id="tutor-form"' not in panel


def test_the_panel_shows_the_questions_left_today_per_the_learners_tier(
    client, learner, lesson, fake_llm
):
    tier = TierFactory(slug="pro", rank=3)
    tier_grant_create(user=learner, tier=tier, source="staff")
    TutorQuota.objects.create(tier=None, questions_per_day=0)
    TutorQuota.objects.create(tier=tier, questions_per_day=5)
    day, _ = tutor_day_bounds(user=learner)
    TutorUsage.objects.create(user=learner, day=day, count=2)

    panel = _panel(client.get(lesson.get_absolute_url()))

    assert "Questions left today: 3 of 5" in panel
    assert 'id="tutor-form"' in panel
    assert reverse("assistant-api:tutor-ask", args=[lesson.pk]) in panel
    assert "No questions yet about this lesson." in panel


def test_the_panel_shows_the_latest_conversation_of_the_lesson_with_its_sources(
    client, learner, lesson, fake_llm
):
    conversation, _ = _conversation(user=learner, lesson=lesson, answer="Start **left** [1].")

    panel = _panel(client.get(lesson.get_absolute_url()))

    assert "Which foot first?" in panel
    assert "Start <strong>left</strong> [1]." in panel
    assert f'<a href="{lesson.get_absolute_url()}">Basic step</a>' in panel
    assert f'name="conversation" value="{conversation.pk}"' in panel
    assert "Report this answer" in panel


def test_a_used_up_quota_disables_the_question(client, learner, lesson, fake_llm, settings):
    settings.LMS_TUTOR_QUESTIONS_PER_DAY = 2
    day, _ = tutor_day_bounds(user=learner)
    TutorUsage.objects.create(user=learner, day=day, count=2)

    panel = _panel(client.get(lesson.get_absolute_url()))

    assert "Questions left today: 0 of 2 · More tomorrow." in panel
    assert 'type="submit" disabled' in panel


def test_a_locked_lesson_shows_no_tutor(client, learner, fake_llm):
    paid = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory(rank=2))
    locked = LessonFactory(section=SectionFactory(course=paid), body="Secret steps.")

    response = client.get(locked.get_absolute_url())

    assert response.status_code == 403
    assert "Ask the tutor" not in response.content.decode()
    assert _panel(response) == ""


def test_visitors_see_no_tutor(client, lesson, fake_llm):
    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 200
    assert _panel(response) == ""


# --- Asking without JavaScript ---------------------------------------------------------------
def test_without_javascript_the_form_shows_the_whole_answer_after_a_redirect(
    client, learner, lesson, fake_llm, settings
):
    settings.LMS_TUTOR_QUESTIONS_PER_DAY = 3
    fake_llm.reply("Step forward with the left foot on one [1].")

    response = client.post(
        reverse("assistant:tutor_ask", args=[lesson.pk]), {"question": "Which foot first?"}
    )

    assert response.status_code == 302
    assert response.url == f"{lesson.get_absolute_url()}#tutor"
    panel = _panel(client.get(response.url))
    assert "Which foot first?" in panel
    assert "Step forward with the left foot on one [1]." in panel
    assert f'<a href="{lesson.get_absolute_url()}">Basic step</a>' in panel
    assert "Questions left today: 2 of 3" in panel


def test_without_javascript_a_used_up_quota_is_said_by_the_form(
    client, learner, lesson, fake_llm, settings
):
    settings.LMS_TUTOR_QUESTIONS_PER_DAY = 1
    day, _ = tutor_day_bounds(user=learner)
    TutorUsage.objects.create(user=learner, day=day, count=1)

    response = client.post(
        reverse("assistant:tutor_ask", args=[lesson.pk]), {"question": "Which foot first?"}
    )

    assert response.status_code == 429
    assert 'role="alert"' in _panel(response)
    assert fake_llm.requests == []
    assert not Message.objects.exists()


def test_without_javascript_an_empty_question_is_refused_by_the_form(
    client, learner, lesson, fake_llm
):
    response = client.post(reverse("assistant:tutor_ask", args=[lesson.pk]), {"question": "  "})

    assert response.status_code == 400
    assert "Write a question for the tutor." in _panel(response)
    assert fake_llm.requests == []


def test_without_javascript_a_locked_lesson_is_refused(client, learner, fake_llm):
    paid = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory(rank=2))
    locked = LessonFactory(section=SectionFactory(course=paid))

    response = client.post(reverse("assistant:tutor_ask", args=[locked.pk]), {"question": "Hi?"})

    assert response.status_code == 403
    assert fake_llm.requests == []


# --- The learner's conversations -------------------------------------------------------------
def test_the_list_shows_only_the_learners_own_conversations(
    client, learner, lesson, django_assert_max_num_queries
):
    _conversation(user=learner, lesson=lesson, question="Which foot first?")
    for number in range(3):
        _conversation(
            user=learner, lesson=LessonFactory(section=lesson.section), question=f"Q{number}?"
        )
    _conversation(user=UserFactory(), lesson=lesson, question="Someone else's question")

    with django_assert_max_num_queries(12):
        response = client.get(reverse("assistant:tutor_list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Which foot first?" in html
    assert html.count('class="tutor-conversation"') == 4
    assert "Someone else&#x27;s question" not in html and "Someone else's question" not in html


def test_a_learner_deletes_their_conversation(client, learner, lesson):
    conversation, _ = _conversation(user=learner, lesson=lesson)

    response = client.post(reverse("assistant:tutor_delete", args=[conversation.pk]), follow=True)

    assert "The conversation about “Basic step” is deleted." in response.content.decode()
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_nobody_else_reads_or_deletes_a_conversation(client, learner, lesson):
    conversation, _ = _conversation(user=UserFactory(), lesson=lesson)

    assert client.get(reverse("assistant:tutor_detail", args=[conversation.pk])).status_code == 404
    response = client.post(reverse("assistant:tutor_delete", args=[conversation.pk]))

    assert response.status_code == 404
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_the_conversation_page_shows_every_message(client, learner, lesson):
    conversation, _ = _conversation(user=learner, lesson=lesson, answer="Left [1].")

    html = client.get(reverse("assistant:tutor_detail", args=[conversation.pk])).content.decode()

    assert "Which foot first?" in html
    assert "Left [1]." in html
    assert "Delete this conversation" in html


def test_the_pages_need_a_sign_in(client, lesson):
    response = client.get(reverse("assistant:tutor_list"))

    assert response.status_code == 302
    assert "/accounts/login/" in response.url


# --- Reporting an answer ---------------------------------------------------------------------
def test_a_learner_reports_an_answer_for_staff_to_review(client, learner, lesson, fake_llm):
    _, answer = _conversation(user=learner, lesson=lesson)

    response = client.post(reverse("assistant:tutor_message_flag", args=[answer.pk]), follow=True)

    answer.refresh_from_db()
    assert answer.flagged_at is not None and answer.flagged_at <= timezone.now()
    html = response.content.decode()
    assert "Thank you: staff will review this answer." in html
    assert "You reported this answer; staff will review it." in _panel(response)


def test_nobody_reports_someone_elses_answer(client, learner, lesson):
    _, answer = _conversation(user=UserFactory(), lesson=lesson)

    response = client.post(reverse("assistant:tutor_message_flag", args=[answer.pk]))

    assert response.status_code == 404
    answer.refresh_from_db()
    assert answer.flagged_at is None


def test_the_panel_costs_the_same_queries_however_long_the_conversation(
    client, learner, lesson, fake_llm
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    conversation, _ = _conversation(user=learner, lesson=lesson)

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(lesson.get_absolute_url()).status_code == 200
        return len(captured)

    page_queries()  # the first view compiles the course's outline
    short = page_queries()
    for number in range(10):
        for role in (Message.Role.USER, Message.Role.ASSISTANT):
            Message.objects.create(
                conversation=conversation, role=role, text=f"{role} {number} [1]"
            )
        _conversation(user=learner, lesson=LessonFactory(section=lesson.section))

    panel_html = client.get(lesson.get_absolute_url()).content.decode()
    assert panel_html.count('class="tutor-message tutor-message--') == 22
    assert page_queries() == short
