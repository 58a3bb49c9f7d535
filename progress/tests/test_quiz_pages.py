"""The quiz on a lesson page: the form (never the answers), submitting it, the feedback."""

import html
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson, Quiz
from catalog.tests.factories import (
    ChoiceFactory,
    CourseFactory,
    LessonFactory,
    QuestionFactory,
    SectionFactory,
    quiz_with_questions,
)
from progress.models import LessonProgress, QuizAttempt
from progress.services import quiz_attempt_submit

pytestmark = pytest.mark.django_db


def quiz_lesson(course: Course | None = None) -> Lesson:
    course = course or CourseFactory(slug="salsa", title="Salsa basics")
    section = SectionFactory(course=course)
    LessonFactory(section=section, slug="warm-up", order=0)
    return LessonFactory(
        section=section, kind=Lesson.Kind.QUIZ, title="Rhythm check", slug="check", order=1
    )


@pytest.fixture
def lesson() -> Lesson:
    return quiz_lesson()


@pytest.fixture
def quiz(lesson) -> Quiz:
    quiz = quiz_with_questions(lesson=lesson)
    for question in quiz.questions.all():
        question.explanation = f"Why: {question.prompt}"
        question.save()
    return quiz


@pytest.fixture
def ids(quiz) -> dict:
    questions = {question.kind: str(question.pk) for question in quiz.questions.all()}
    choices = {
        choice.text: str(choice.pk)
        for question in quiz.questions.all()
        for choice in question.choices.all()
    }
    return {**questions, **choices}


def submit_url(lesson: Lesson) -> str:
    return f"/courses/{lesson.course.slug}/{lesson.slug}/quiz/"


def form_data(ids: dict, **answers) -> dict:
    """The form as a browser posts it; `answers` by kind (single, multiple, short)."""
    data = {"client_id": str(uuid.uuid4())}
    for kind, value in answers.items():
        data[f"question-{ids[kind]}"] = value
    return data


def all_right(ids: dict) -> dict:
    return form_data(ids, single=ids["Four"], multiple=[ids["Left"], ids["Right"]], short=" Eight ")


def text_of(response) -> str:
    """The page's visible text, spaces collapsed."""
    content = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content)).split())


def quiz_panel(response) -> str:
    content = response.content.decode()
    start = content.index('<section class="quiz" id="quiz"')
    return content[start : content.index("</form>", start)]


def test_the_submit_address_is_under_the_lesson(lesson):
    assert reverse("progress:quiz_submit", args=["salsa", "check"]) == submit_url(lesson)


def test_the_form_asks_every_question_without_giving_the_answers(user_client, lesson, ids):
    response = user_client.get(lesson.get_absolute_url())

    assert response.status_code == 200
    panel = quiz_panel(response)
    text = text_of(response)
    assert "3 questions" in text
    assert "Pass mark 70%" in text
    for prompt in ("Beats in a bar?", "Which are directions?", "Counts in a dance phrase?"):
        assert prompt in panel
    # Radios for the single choice, checkboxes for the multiple one, a text box for the short.
    for text, kind in (("Three", "radio"), ("Four", "radio"), ("Left", "checkbox")):
        assert f'type="{kind}" name="question-' in panel
        assert f'value="{ids[text]}"' in panel
    assert f'type="text" id="id_question-{ids["short"]}" name="question-{ids["short"]}"' in panel
    assert panel.count("<fieldset") == 3
    assert panel.count("<legend") == 3
    assert 'name="csrfmiddlewaretoken"' in panel
    assert "Submit answers" in panel
    # Nothing that tells a right answer from a wrong one.
    for word in ("Why", "eight", "correct", "accepted", "explanation"):
        assert not re.search(rf"\b{word}\b", text, flags=re.IGNORECASE)
    for marker in ("correct", "checked", "Why:", ">eight<", '"eight"'):
        assert marker not in panel


def test_the_right_choice_is_marked_up_like_the_others(user_client, lesson, ids):
    panel = quiz_panel(user_client.get(lesson.get_absolute_url()))

    def choice_markup(text: str) -> str:
        match = re.search(rf'<input[^>]*value="{ids[text]}"[^>]*>\s*<label[^>]*>', panel)
        return match.group(0).replace(ids[text], "ID").replace(text, "TEXT")

    # Only the id, and the position in the list, differ between a right and a wrong choice.
    assert re.sub(r"_\d+", "_N", choice_markup("Four")) == re.sub(
        r"_\d+", "_N", choice_markup("Three")
    )


def test_passing_redirects_to_the_lesson_with_the_score_and_xp(user_client, user, lesson, ids):
    response = user_client.post(submit_url(lesson), all_right(ids))

    assert response.status_code == 302
    assert response["Location"] == "/courses/salsa/check/#quiz"
    [message] = get_messages(response.wsgi_request)
    assert str(message) == "Passed: 100%. +30 XP"
    assert message.level_tag == "success"
    attempt = QuizAttempt.objects.get()
    assert (attempt.user, attempt.score, attempt.passed) == (user, 100, True)
    assert LessonProgress.objects.get(user=user, lesson=lesson).is_completed


def test_after_passing_the_page_shows_the_feedback(user_client, lesson, ids):
    response = user_client.post(submit_url(lesson), all_right(ids), follow=True)

    text = text_of(response)
    assert "Passed: 100%. +30 XP" in text
    assert "You passed this quiz: best score 100%." in text
    assert "Best score 100%" in text
    assert "Question 1: correct" in text
    assert "Your answer Four Correct answer Four" in text
    assert "Your answer Left, Right Correct answers Left, Right" in text
    assert "Your answer Eight Correct answers eight, 8" in text
    assert "Why: Counts in a dance phrase?" in text
    # The last lesson of the course: back to the course is the way on.
    assert "Back to the course" in text
    assert "Retake the quiz for practice" in text


def test_after_passing_the_next_lesson_is_the_primary_action_and_the_form_is_folded(
    user_client, lesson, ids
):
    LessonFactory(section=lesson.section, slug="after", title="Turn patterns", order=2)

    response = user_client.post(submit_url(lesson), all_right(ids), follow=True)

    content = response.content.decode()
    panel = content[content.index('<section class="quiz" id="quiz"') :]
    primary = re.findall(r'<a class="btn btn--primary[^"]*" href="([^"]+)">([^<]+)', panel)
    assert primary == [("/courses/salsa/after/", "Next lesson: Turn patterns ")]
    details = panel[panel.index('<details class="quiz-retake">') : panel.index("</details>")]
    assert "Retake the quiz for practice" in details
    assert '<form method="post"' in details
    assert panel.count('<form method="post"') == 1


def test_failing_shows_the_score_and_attempts_left_but_no_answers(user_client, user, lesson, ids):
    data = form_data(ids, single=ids["Five"], multiple=[ids["Left"]], short="8")

    response = user_client.post(submit_url(lesson), data, follow=True)

    assert response.redirect_chain == [("/courses/salsa/check/#quiz", 302)]
    text = text_of(response)
    assert "Not yet: 33%. Pass mark 70%. You have 2 attempts left." in text
    assert "Your last attempt: 33%. Not yet: the pass mark is 70%." in text
    assert "1 of 3 points." in text
    assert "Attempts used: 1 of 3 (2 left)." in text
    assert "You have 2 attempts left." in text
    assert "once you pass or have used your last attempt" in text
    assert "Try again" in text
    # Nothing says which answer was right, or why.
    content = response.content.decode()
    for leak in ("Why:", "not quite", "Correct answer", "quiz-feedback__item"):
        assert leak not in content
    # The new form starts empty.
    assert "checked" not in quiz_panel(response).split("quiz-form")[-1]
    assert not LessonProgress.objects.filter(user=user, lesson=lesson).exists()


def test_passing_again_is_practice_and_says_passed_without_xp(user_client, user, lesson, ids):
    user_client.post(submit_url(lesson), all_right(ids))

    response = user_client.post(submit_url(lesson), all_right(ids))

    assert [str(message) for message in get_messages(response.wsgi_request)][-1] == (
        "Passed: 100%."
    )
    assert QuizAttempt.objects.filter(user=user).count() == 2


def test_a_double_submitted_form_counts_once(user_client, user, lesson, ids):
    data = all_right(ids)

    user_client.post(submit_url(lesson), data)
    response = user_client.post(submit_url(lesson), data)

    assert response.status_code == 302
    assert QuizAttempt.objects.filter(user=user).count() == 1


def test_an_unanswered_question_re_renders_the_form_with_errors(user_client, lesson, ids):
    data = form_data(ids, single=ids["Three"], short="  ")

    response = user_client.post(submit_url(lesson), data)

    assert response.status_code == 400
    assert not QuizAttempt.objects.exists()
    panel = quiz_panel(response)
    text = text_of(response)
    assert "Answer every question to submit your answers." in text
    assert "Choose at least one answer." in text
    assert "Type an answer." in text
    assert "Choose an answer." not in text
    # What was answered stays chosen, and the errors are tied to their questions.
    assert re.search(rf'value="{ids["Three"]}"[^>]*checked', panel)
    assert f'id="id_question-{ids["multiple"]}-error"' in panel
    assert f'aria-describedby="id_question-{ids["short"]}-error"' in panel
    assert 'aria-invalid="true"' in panel
    assert "Why:" not in response.content.decode()


def test_a_choice_that_is_not_in_the_quiz_is_a_form_error(user_client, lesson, ids):
    data = form_data(ids, single=ids["Left"], multiple=[ids["Left"]], short="8")

    response = user_client.post(submit_url(lesson), data)

    assert response.status_code == 400
    assert "Select a valid choice." in text_of(response)
    assert not QuizAttempt.objects.exists()


def test_visitors_see_the_questions_and_are_asked_to_sign_in(client, lesson, quiz):
    response = client.get(lesson.get_absolute_url())

    panel = quiz_panel(response)
    assert "Beats in a bar?" in panel
    assert "Sign in to submit your answers" in panel
    assert 'href="/accounts/login/?next=/courses/salsa/check/"' in panel
    assert 'type="submit"' not in panel


def test_visitors_who_submit_are_sent_to_sign_in(client, lesson, ids):
    response = client.post(submit_url(lesson), all_right(ids))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/courses/salsa/check/"
    assert not QuizAttempt.objects.exists()


def test_a_locked_lesson_refuses_the_submission(user_client, ids):
    paid = CourseFactory(
        slug="pro", visibility=Course.Visibility.PAID, required_tier=TierFactory(name="Pro")
    )
    locked = quiz_lesson(course=paid)
    quiz = quiz_with_questions(lesson=locked)
    question = quiz.questions.get(kind="short")

    response = user_client.post(submit_url(locked), {f"question-{question.pk}": "8"}, follow=True)

    assert response.redirect_chain == [("/courses/pro/check/", 302)]
    assert response.status_code == 403
    text = text_of(response)
    assert "Your answers were not sent: this lesson is locked." in text
    assert "This lesson needs the Pro plan" in text
    assert not QuizAttempt.objects.exists()


def test_the_get_method_is_not_allowed_on_the_submit_address(user_client, lesson, quiz):
    assert user_client.get(submit_url(lesson)).status_code == 405


def test_the_latest_attempt_is_the_one_shown(user_client, user, lesson, quiz, ids):
    quiz.max_attempts = 2  # the second attempt is the last: its answers are shown
    quiz.save()
    quiz_attempt_submit(
        user=user,
        lesson=lesson,
        answers={ids["single"]: [ids["Four"]], ids["multiple"]: [ids["Left"], ids["Right"]]},
    )
    quiz_attempt_submit(user=user, lesson=lesson, answers={ids["short"]: "8"})

    text = text_of(user_client.get(lesson.get_absolute_url()))

    assert "Your last attempt: 33%." in text
    assert "Best score 66%" in text
    assert "Your answer No answer Correct answer Four" in text
    assert "You have used all 2 attempts at this quiz." in text


def _page_queries(client, user, question_count: int, slug: str) -> int:
    lesson = quiz_lesson(course=CourseFactory(slug=slug))
    quiz = quiz_with_questions(lesson=lesson)
    for order in range(4, question_count + 1):
        question = QuestionFactory(quiz=quiz, order=order)
        ChoiceFactory(question=question, is_correct=True)
        ChoiceFactory(question=question)
    quiz.max_attempts = 1
    quiz.save()
    quiz_attempt_submit(user=user, lesson=lesson, answers={})  # feedback to show
    client.get("/")  # the session's first request records the device
    with CaptureQueriesContext(connection) as queries:
        response = client.get(lesson.get_absolute_url())
    assert response.status_code == 200
    assert f"{question_count} questions" in text_of(response)
    assert f"0 of {question_count} points." in text_of(response)
    assert "Correct answer" in text_of(response)
    return len(queries)


def test_the_page_queries_do_not_grow_with_the_questions(user_client, user):
    small = _page_queries(user_client, user, 3, "small")
    large = _page_queries(user_client, user, 30, "large")

    assert small == large


# --- The attempt rules on the page ------------------------------------------------------------


def test_before_a_first_attempt_the_rules_are_stated(user_client, lesson, quiz):
    text = text_of(user_client.get(lesson.get_absolute_url()))

    assert "3 attempts" in text
    assert "You have 3 attempts to pass." in text
    assert "once you pass or have used your last attempt" in text


def test_while_waiting_the_form_is_disabled_and_says_when_it_opens(
    user_client, user, lesson, quiz, ids
):
    quiz.retry_wait_minutes = 30
    quiz.save()
    quiz_attempt_submit(user=user, lesson=lesson, answers={}, now=timezone.now())

    response = user_client.get(lesson.get_absolute_url())

    panel = quiz_panel(response)
    assert "Your next attempt opens at" in text_of(response)
    assert '<fieldset class="quiz-form__fields" disabled>' in panel
    # And the server refuses a submission anyway.
    refused = user_client.post(submit_url(lesson), all_right(ids), follow=True)
    assert refused.redirect_chain == [("/courses/salsa/check/#quiz", 302)]
    assert "Your next attempt at this quiz is not open yet" in text_of(refused)
    assert QuizAttempt.objects.filter(user=user).count() == 1


def test_after_the_wait_the_form_is_open_again(user_client, user, lesson, quiz):
    quiz.retry_wait_minutes = 30
    quiz.save()
    quiz_attempt_submit(
        user=user, lesson=lesson, answers={}, now=timezone.now() - timedelta(hours=1)
    )

    panel = quiz_panel(user_client.get(lesson.get_absolute_url()))

    assert "disabled" not in panel
    assert "Submit again" in panel


def test_out_of_attempts_there_is_no_form_and_the_answers_are_shown(
    user_client, user, lesson, quiz, ids
):
    for _ in range(3):
        user_client.post(
            submit_url(lesson),
            form_data(ids, single=ids["Five"], multiple=[ids["Blue"]], short="9"),
        )

    response = user_client.get(lesson.get_absolute_url())

    text = text_of(response)
    assert "You have used all 3 attempts at this quiz." in text
    assert "Your answer Five Correct answer Four" in text
    assert (
        '<form method="post" action="/courses/salsa/check/quiz/"' not in response.content.decode()
    )
    refused = user_client.post(submit_url(lesson), all_right(ids), follow=True)
    assert "You have used all your attempts at this quiz." in text_of(refused)
    assert QuizAttempt.objects.filter(user=user).count() == 3


def test_a_quiz_that_never_reveals_shows_only_the_score_after_a_pass(
    user_client, lesson, quiz, ids
):
    quiz.reveal_answers = "never"
    quiz.save()

    response = user_client.post(submit_url(lesson), all_right(ids), follow=True)

    content = response.content.decode()
    assert "You passed this quiz: best score 100%." in text_of(response)
    for leak in ("Why:", "Correct answer", "quiz-feedback__item"):
        assert leak not in content


def test_choices_render_markdown_like_prompts(user_client, lesson, quiz, ids):
    question = quiz.questions.get(kind="single")
    question.choices.filter(text="Four").update(text="`print()` and *more*")

    panel = quiz_panel(user_client.get(lesson.get_absolute_url()))

    assert (
        f'<label for="id_question-{ids["single"]}_1"><code>print()</code> and <em>more</em></label>'
        in panel
    )
    assert "`print()`" not in panel
