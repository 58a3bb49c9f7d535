"""Quiz authoring in the admin, driven like an editor would: pages, posted inline formsets,
errors on the page, rows in the database."""

import pytest
from django import forms
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Choice, Lesson, Question, Quiz
from catalog.tests.factories import (
    ChoiceFactory,
    CourseFactory,
    LessonFactory,
    QuestionFactory,
    QuizFactory,
    SectionFactory,
    quiz_with_questions,
)

pytestmark = pytest.mark.django_db

QUIZZES_URL = reverse("admin:catalog_quiz_changelist")
QUIZ_ADD_URL = reverse("admin:catalog_quiz_add")
ADMIN_INDEX = reverse("admin:index")
# The attempt rules as the add page offers them (the model's defaults).
RULES = {"max_attempts": "3", "retry_wait_minutes": "0", "reveal_answers": "after_last_attempt"}


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    # MFA for the admin is tested with the accounts; here it would only add a setup step.
    settings.LMS_ADMIN_REQUIRE_MFA = False


def quiz_url(quiz: Quiz) -> str:
    return reverse("admin:catalog_quiz_change", args=[quiz.pk])


def question_url(question: Question) -> str:
    return reverse("admin:catalog_question_change", args=[question.pk])


def page_form_data(response) -> dict:
    """What the browser posts back for an admin add/change page that nobody edited."""
    data: dict = {}
    page_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        page_forms += [inline.formset.management_form, *inline.formset.forms]
    for form in page_forms:
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            if isinstance(field, forms.BooleanField):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(item) for item in value]
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


def page_errors(response) -> str:
    """Every error the page shows: the main form's, the inline rows' and the inlines'."""
    errors = [str(response.context["adminform"].form.errors)]
    for inline in response.context["inline_admin_formsets"]:
        errors.append(str(inline.formset.errors))
        errors.append(str(inline.formset.non_form_errors()))
    return " ".join(errors)


def quiz_lesson(title: str = "Rhythm check", course=None) -> Lesson:
    section = SectionFactory(course=course or CourseFactory(title="Salsa basics"))
    return LessonFactory(section=section, kind=Lesson.Kind.QUIZ, title=title, slug="check")


def question_rows(prefix: str, rows: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{index}-{name}"] = value
    return data


# --- Staff: authoring ---------------------------------------------------------------------------


def test_the_quiz_pages_open_for_staff(staff_client):
    quiz = quiz_with_questions()
    urls = [
        QUIZZES_URL,
        QUIZ_ADD_URL,
        quiz_url(quiz),
        reverse("admin:catalog_question_changelist"),
        reverse("admin:catalog_question_add"),
        question_url(quiz.questions.first()),
    ]

    for url in urls:
        assert staff_client.get(url).status_code == 200, url
    changelist = staff_client.get(QUIZZES_URL).content.decode()
    assert quiz.lesson.title in changelist
    assert quiz.lesson.course.title in changelist


def test_the_add_page_can_start_from_a_lesson(staff_client):
    lesson = quiz_lesson(title="Rhythm check")

    response = staff_client.get(QUIZ_ADD_URL, {"lesson": str(lesson.pk)})

    assert f'<option value="{lesson.pk}" selected>Rhythm check</option>' in (
        response.content.decode()
    )


def test_staff_create_a_quiz_with_its_questions_on_the_add_page(staff_client):
    lesson = quiz_lesson()

    response = staff_client.post(
        QUIZ_ADD_URL,
        {
            "lesson": str(lesson.pk),
            "pass_mark": "80",
            **RULES,
            **question_rows(
                "questions",
                [
                    {
                        "kind": "single",
                        "prompt": "Beats in a bar?",
                        "explanation": "Four to the bar.",
                        "accepted_answers": "",
                        "points": "2",
                        "order": "",
                    },
                    {
                        "kind": "short",
                        "prompt": "Counts in a phrase?",
                        "explanation": "",
                        "accepted_answers": "eight\n8",
                        "points": "1",
                        "order": "",
                    },
                ],
            ),
        },
    )

    assert response.status_code == 302, page_errors(response)
    quiz = Quiz.objects.get()
    assert response["Location"] == QUIZZES_URL
    assert (quiz.lesson, quiz.pass_mark) == (lesson, 80)
    questions = list(quiz.questions.order_by("order"))
    assert [(q.kind, q.prompt, q.points, q.order) for q in questions] == [
        ("single", "Beats in a bar?", 2, 0),
        ("short", "Counts in a phrase?", 1, 1),
    ]
    assert questions[0].explanation == "Four to the bar."
    assert questions[1].accepted_answer_list == ["eight", "8"]


def test_staff_add_the_choices_of_a_question_on_its_page(staff_client):
    question = QuestionFactory(kind="single", prompt="Beats in a bar?")
    page = staff_client.get(question_url(question))
    data = page_form_data(page)
    for index, (text, correct) in enumerate((("Three", False), ("Four", True), ("Five", False))):
        data[f"choices-{index}-text"] = text
        data[f"choices-{index}-order"] = str(index)
        if correct:
            data[f"choices-{index}-is_correct"] = "on"

    response = staff_client.post(question_url(question), data)

    assert response.status_code == 302, page_errors(response)
    choices = list(question.choices.order_by("order").values_list("text", "is_correct"))
    assert choices == [("Three", False), ("Four", True), ("Five", False)]


def _post_choices(client, question: Question, choices: list[tuple[str, bool]], **fields):
    page = client.get(question_url(question))
    data = page_form_data(page)
    data.update(fields)
    for index, (text, correct) in enumerate(choices):
        data[f"choices-{index}-text"] = text
        data[f"choices-{index}-order"] = str(index)
        if correct:
            data[f"choices-{index}-is_correct"] = "on"
    return client.post(question_url(question), data)


def test_a_single_choice_question_with_two_correct_choices_is_refused(staff_client):
    question = QuestionFactory(kind="single")

    response = _post_choices(staff_client, question, [("Four", True), ("4", True), ("3", False)])

    assert response.status_code == 200
    assert "A single-choice question needs exactly one correct choice (it has 2)." in (
        page_errors(response)
    )
    assert "errornote" in response.content.decode()
    assert not Choice.objects.exists()


def test_a_single_choice_question_with_no_correct_choice_is_refused(staff_client):
    question = QuestionFactory(kind="single")

    response = _post_choices(staff_client, question, [("Three", False), ("Five", False)])

    assert response.status_code == 200
    assert "needs exactly one correct choice (it has 0)" in page_errors(response)
    assert not Choice.objects.exists()


def test_a_multiple_choice_question_needs_a_correct_choice(staff_client):
    question = QuestionFactory(kind="multiple")

    refused = _post_choices(staff_client, question, [("Left", False), ("Blue", False)])
    accepted = _post_choices(
        staff_client, question, [("Left", True), ("Right", True), ("Blue", False)]
    )

    assert "A multiple-choice question needs at least one correct choice." in page_errors(refused)
    assert accepted.status_code == 302, page_errors(accepted)
    assert question.choices.filter(is_correct=True).count() == 2


def test_a_short_answer_question_needs_accepted_answers_and_no_choices(staff_client):
    question = QuestionFactory(kind="short", accepted_answers="eight")

    response = _post_choices(staff_client, question, [("Eight", True)], accepted_answers="")

    errors = page_errors(response)
    assert "A short-answer question needs at least one accepted answer." in errors
    assert "A short-answer question has no choices: delete them or change the kind." in errors
    question.refresh_from_db()
    assert question.accepted_answers == "eight"
    assert not Choice.objects.exists()


def test_deleted_choices_do_not_count(staff_client):
    question = QuestionFactory(kind="single")
    ChoiceFactory(question=question, text="Four", is_correct=True, order=0)
    wrong = ChoiceFactory(question=question, text="4", is_correct=True, order=1)
    page = staff_client.get(question_url(question))
    data = page_form_data(page)
    prefix = next(
        form.prefix
        for inline in page.context["inline_admin_formsets"]
        for form in inline.formset.initial_forms
        if form.instance.pk == wrong.pk
    )
    data[f"{prefix}-DELETE"] = "on"

    response = staff_client.post(question_url(question), data)

    assert response.status_code == 302, page_errors(response)
    assert list(question.choices.values_list("text", flat=True)) == ["Four"]


def test_on_the_quiz_page_a_short_answer_without_accepted_answers_is_refused(staff_client):
    quiz = QuizFactory()
    page = staff_client.get(quiz_url(quiz))
    data = page_form_data(page)
    data.update(
        {
            "questions-0-kind": "short",
            "questions-0-prompt": "Counts in a phrase?",
            "questions-0-points": "1",
        }
    )

    response = staff_client.post(quiz_url(quiz), data)

    assert response.status_code == 200
    assert "A short-answer question needs at least one accepted answer." in page_errors(response)
    assert not Question.objects.exists()


def test_on_the_quiz_page_a_kind_that_does_not_fit_the_choices_is_refused(staff_client):
    quiz = quiz_with_questions()
    multiple = quiz.questions.get(kind="multiple")
    page = staff_client.get(quiz_url(quiz))
    data = page_form_data(page)
    prefix = next(
        form.prefix
        for inline in page.context["inline_admin_formsets"]
        for form in inline.formset.initial_forms
        if form.instance.pk == multiple.pk
    )
    data[f"{prefix}-kind"] = "single"

    response = staff_client.post(quiz_url(quiz), data)

    assert response.status_code == 200
    assert (
        "A single-choice question needs exactly one correct choice (it has 2). "
        "Edit its choices first."
    ) in page_errors(response)
    multiple.refresh_from_db()
    assert multiple.kind == "multiple"


def test_on_the_quiz_page_two_questions_may_swap_their_order(staff_client):
    quiz = quiz_with_questions()
    page = staff_client.get(quiz_url(quiz))
    data = page_form_data(page)
    orders = {
        form.instance.prompt: form.prefix
        for inline in page.context["inline_admin_formsets"]
        for form in inline.formset.initial_forms
    }
    data[f"{orders['Beats in a bar?']}-order"] = "2"
    data[f"{orders['Which are directions?']}-order"] = "1"

    response = staff_client.post(quiz_url(quiz), data)

    assert response.status_code == 302, page_errors(response)
    assert list(quiz.questions.order_by("order").values_list("prompt", flat=True)) == [
        "Which are directions?",
        "Beats in a bar?",
        "Counts in a dance phrase?",
    ]


def test_the_quiz_page_flags_a_choice_question_without_its_choices(staff_client):
    quiz = quiz_with_questions()
    QuestionFactory(quiz=quiz, kind="single", prompt="Tempo?", order=9)

    content = staff_client.get(quiz_url(quiz)).content.decode()

    assert "Three, Four ✓, Five" in content
    assert "eight, 8" in content
    assert "No choices yet." in content
    assert "A single-choice question needs exactly one correct choice (it has 0)." in content
    assert reverse("admin:catalog_question_change", args=[quiz.questions.get(order=1).pk]) in (
        content
    )


def test_a_lesson_that_is_not_a_quiz_lesson_cannot_get_a_quiz(staff_client):
    text_lesson = LessonFactory(kind=Lesson.Kind.TEXT)
    taken = QuizFactory().lesson

    for lesson in (text_lesson, taken):
        response = staff_client.post(
            QUIZ_ADD_URL,
            {
                "lesson": str(lesson.pk),
                "pass_mark": "70",
                **RULES,
                **question_rows("questions", []),
            },
        )
        assert response.status_code == 200
        assert "lesson" in response.context["adminform"].form.errors
    assert Quiz.objects.count() == 1


def test_the_pass_mark_is_a_percentage(staff_client):
    response = staff_client.post(
        QUIZ_ADD_URL,
        {"lesson": str(quiz_lesson().pk), "pass_mark": "101", **question_rows("questions", [])},
    )

    assert response.status_code == 200
    assert "pass_mark" in response.context["adminform"].form.errors
    assert not Quiz.objects.exists()


def test_staff_set_the_attempt_rules_with_the_defaults_offered(staff_client):
    lesson = quiz_lesson()
    add_page = staff_client.get(QUIZ_ADD_URL).content.decode()
    assert 'name="max_attempts" value="3"' in add_page
    assert '<option value="after_last_attempt" selected>' in add_page
    assert "keeps the pass mark meaningful" in add_page

    response = staff_client.post(
        QUIZ_ADD_URL,
        {
            "lesson": str(lesson.pk),
            "pass_mark": "70",
            "max_attempts": "",  # unlimited
            "retry_wait_minutes": "15",
            "reveal_answers": "never",
            **question_rows("questions", []),
        },
    )

    assert response.status_code == 302, page_errors(response)
    quiz = Quiz.objects.get()
    assert (quiz.max_attempts, quiz.retry_wait_minutes, quiz.reveal_answers) == (None, 15, "never")
    assert "unlimited" in staff_client.get(QUIZZES_URL).content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_attempts", "0"), ("max_attempts", "101"), ("retry_wait_minutes", "10081")],
)
def test_the_attempt_rules_have_ranges(staff_client, field, value):
    response = staff_client.post(
        QUIZ_ADD_URL,
        {
            "lesson": str(quiz_lesson().pk),
            "pass_mark": "70",
            **{**RULES, field: value},
            **question_rows("questions", []),
        },
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Quiz.objects.exists()


def test_the_question_page_previews_choices_as_learners_see_them(staff_client):
    question = QuestionFactory()
    ChoiceFactory(question=question, text="`print()`", is_correct=True)

    page = staff_client.get(question_url(question)).content.decode()

    assert "<code>print()</code>" in page


def test_the_lesson_autocomplete_offers_only_quiz_lessons(staff_client):
    quiz_lesson(title="Rhythm check")
    LessonFactory(title="Warm-up", kind=Lesson.Kind.TEXT)

    response = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "catalog", "model_name": "quiz", "field_name": "lesson", "term": ""},
    )

    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["Rhythm check"]


def _page_queries(client, question_count: int) -> int:
    quiz = QuizFactory()
    for order in range(question_count):
        question = QuestionFactory(quiz=quiz, order=order)
        ChoiceFactory(question=question, is_correct=True)
        ChoiceFactory(question=question)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(quiz_url(quiz))
    assert response.status_code == 200
    return len(queries)


def test_the_quiz_page_queries_do_not_grow_with_the_questions(staff_client):
    _page_queries(staff_client, 1)  # the first view fills per-process caches (content types)
    assert _page_queries(staff_client, 3) == _page_queries(staff_client, 30)


# --- Instructors: only their own courses' quizzes ---------------------------------------------


@pytest.fixture
def ana():
    ana = user_role_set(user=UserFactory(email="ana@example.com"), role=Role.INSTRUCTOR, actor=None)
    # What the Instructors group is to grant for quizzes (accounts.roles); given here directly
    # so these tests are about the scoping, not the group's definition.
    ana.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog",
            codename__in=[
                f"{action}_{model}"
                for model in ("quiz", "question", "choice")
                for action in ("view", "add", "change")
            ],
        )
    )
    return ana


@pytest.fixture
def quizzes(ana):
    bo = user_role_set(user=UserFactory(email="bo@example.com"), role=Role.INSTRUCTOR, actor=None)
    mine = quiz_with_questions(
        lesson=quiz_lesson("Ana check", CourseFactory(title="Ana salsa", instructors=[ana]))
    )
    theirs = quiz_with_questions(
        lesson=quiz_lesson("Bo check", CourseFactory(title="Bo bachata", instructors=[bo]))
    )
    return mine, theirs


@pytest.fixture
def ana_client(client, ana):
    client.force_login(ana)
    return client


def test_an_instructor_lists_only_the_quizzes_of_their_courses(ana_client, quizzes):
    content = ana_client.get(QUIZZES_URL).content.decode()

    assert "Ana check" in content
    assert "Bo " not in content


@pytest.mark.parametrize("page", ["quiz", "question"])
def test_an_instructor_opening_another_instructors_quiz_is_told_it_does_not_exist(
    ana_client, quizzes, page
):
    _mine, theirs = quizzes
    url = quiz_url(theirs) if page == "quiz" else question_url(theirs.questions.first())

    response = ana_client.get(url)

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX
    [message] = get_messages(response.wsgi_request)
    assert "doesn’t exist" in str(message)


def test_an_instructor_posting_to_another_instructors_quiz_changes_nothing(ana_client, quizzes):
    _mine, theirs = quizzes

    response = ana_client.post(quiz_url(theirs), {"pass_mark": "1"})

    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.pass_mark == 70


def test_an_instructor_edits_their_own_quiz(ana_client, quizzes):
    mine, _theirs = quizzes
    page = ana_client.get(quiz_url(mine))
    data = page_form_data(page)
    data["pass_mark"] = "90"

    response = ana_client.post(quiz_url(mine), data)

    assert response.status_code == 302, page_errors(response)
    mine.refresh_from_db()
    assert mine.pass_mark == 90


def test_an_instructor_may_add_quizzes_only_to_their_own_lessons(ana_client, quizzes, ana):
    mine = quiz_lesson("Ana final", CourseFactory(title="Ana zouk", instructors=[ana]))
    theirs = quiz_lesson("Bo final", CourseFactory(title="Bo kizomba"))

    autocomplete = ana_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "catalog", "model_name": "quiz", "field_name": "lesson", "term": "final"},
    )
    refused = ana_client.post(
        QUIZ_ADD_URL,
        {"lesson": str(theirs.pk), "pass_mark": "70", **RULES, **question_rows("questions", [])},
    )
    accepted = ana_client.post(
        QUIZ_ADD_URL,
        {"lesson": str(mine.pk), "pass_mark": "70", **RULES, **question_rows("questions", [])},
    )

    assert [result["text"] for result in autocomplete.json()["results"]] == ["Ana final"]
    assert "lesson" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302, page_errors(accepted)
    assert Quiz.objects.filter(lesson=mine).exists()
    assert not Quiz.objects.filter(lesson=theirs).exists()


def test_a_quiz_lessons_admin_page_leads_to_its_questions(staff_client):
    lesson = quiz_lesson()
    lesson_url = reverse("admin:catalog_lesson_change", args=[lesson.pk])

    before = staff_client.get(lesson_url).content.decode()
    quiz = QuizFactory(lesson=lesson)
    after = staff_client.get(lesson_url).content.decode()

    assert f'href="{QUIZ_ADD_URL}?lesson={lesson.pk}">Add the questions' in before
    assert f'href="{quiz_url(quiz)}">Edit the questions' in after


def test_staff_mark_a_lesson_optional_for_course_completion(staff_client):
    lesson = quiz_lesson()
    lesson_url = reverse("admin:catalog_lesson_change", args=[lesson.pk])
    data = page_form_data(staff_client.get(lesson_url))
    data.pop("is_required", None)

    response = staff_client.post(lesson_url, data)

    assert response.status_code == 302
    lesson.refresh_from_db()
    assert lesson.is_required is False
