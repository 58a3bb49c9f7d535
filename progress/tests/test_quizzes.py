"""Grading a quiz and submitting attempts: what is right, what is stored, what a pass gives."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson, Question, Quiz
from catalog.quizzes import quiz_get, quiz_grade
from catalog.tests.factories import (
    ChoiceFactory,
    CourseFactory,
    LessonFactory,
    QuestionFactory,
    QuizFactory,
    SectionFactory,
    quiz_with_questions,
)
from lms.errors import ApplicationError, ErrorCode, NotFoundError
from lms.tests.concurrency import run_together
from progress.models import LearnerStats, LessonProgress, QuizAttempt, QuizAttemptGrant, XPAward
from progress.services import quiz_attempt_submit
from progress.services.quizzes import quiz_attempt_grant

pytestmark = pytest.mark.django_db


# --- Helpers ------------------------------------------------------------------------------------


def quiz_lesson(course: Course | None = None, **kwargs) -> Lesson:
    """A quiz lesson in a course that also has a text lesson (so passing the quiz does not
    complete the course, and XP stays the lesson's and the quiz's)."""
    course = course or CourseFactory()
    section = SectionFactory(course=course)
    LessonFactory(section=section, title="Warm-up", slug="warm-up", order=0)
    return LessonFactory(
        section=section, kind=Lesson.Kind.QUIZ, title="Check", slug="check", order=1, **kwargs
    )


class Ids:
    """The three questions of `quiz_with_questions` and their choices, by name."""

    def __init__(self, quiz: Quiz) -> None:
        questions = list(quiz.questions.order_by("order"))
        self.single, self.multiple, self.short = (str(question.pk) for question in questions)
        self.choice = {
            choice.text: str(choice.pk)
            for question in questions
            for choice in question.choices.all()
        }

    def all_right(self) -> dict:
        return {
            self.single: [self.choice["Four"]],
            self.multiple: [self.choice["Left"], self.choice["Right"]],
            self.short: "eight",
        }


@pytest.fixture
def lesson() -> Lesson:
    return quiz_lesson()


@pytest.fixture
def quiz(lesson) -> Quiz:
    return quiz_with_questions(lesson=lesson)


@pytest.fixture
def ids(quiz) -> Ids:
    return Ids(quiz)


def grade(lesson: Lesson, answers):
    return quiz_grade(quiz=quiz_get(lesson=lesson), answers=answers)


# --- Grading ------------------------------------------------------------------------------------


def test_all_right_answers_score_100_and_pass(lesson, ids):
    result = grade(lesson, ids.all_right())

    assert (result.points, result.max_points, result.score, result.passed) == (3, 3, 100, True)
    assert [item.correct for item in result.results] == [True, True, True]


def test_each_graded_question_carries_the_answer_the_right_answer_and_the_explanation(lesson, ids):
    answers = {ids.single: [ids.choice["Three"]], ids.short: "8"}

    result = grade(lesson, answers)

    choices = [{"id": ids.choice[text], "text": text} for text in ("Three", "Four", "Five")]
    assert result.results_json() == [
        {
            "question_id": ids.single,
            "kind": "single",
            "prompt": "Beats in a bar?",
            "correct": False,
            "points": 0,
            "max_points": 1,
            "answer": [ids.choice["Three"]],
            "correct_answer": [ids.choice["Four"]],
            "explanation": "Because the beat says so.",
            "choices": choices,
        },
        {
            "question_id": ids.multiple,
            "kind": "multiple",
            "prompt": "Which are directions?",
            "correct": False,
            "points": 0,
            "max_points": 1,
            "answer": None,
            "correct_answer": [ids.choice["Left"], ids.choice["Right"]],
            "explanation": "Because the beat says so.",
            "choices": [
                {"id": ids.choice[text], "text": text} for text in ("Left", "Right", "Blue")
            ],
        },
        {
            "question_id": ids.short,
            "kind": "short",
            "prompt": "Counts in a dance phrase?",
            "correct": True,
            "points": 1,
            "max_points": 1,
            "answer": "8",
            "correct_answer": ["eight", "8"],
            "explanation": "Because the beat says so.",
            "choices": [],
        },
    ]
    assert (result.points, result.max_points, result.score, result.passed) == (1, 3, 33, False)


def test_single_choice_is_right_only_with_the_correct_choice(lesson, ids):
    right = grade(lesson, {ids.single: [ids.choice["Four"]]})
    wrong = grade(lesson, {ids.single: [ids.choice["Five"]]})

    assert (right.results[0].correct, right.results[0].points) == (True, 1)
    assert (wrong.results[0].correct, wrong.results[0].points) == (False, 0)


@pytest.mark.parametrize(
    ("chosen", "correct"),
    [
        (["Left", "Right"], True),
        (["Right", "Left", "Left"], True),  # order and repeats do not matter
        (["Left"], False),  # no partial credit for part of the set
        (["Left", "Right", "Blue"], False),  # nor for the set plus a wrong one
        (["Blue"], False),
        ([], False),
    ],
)
def test_multiple_choice_is_right_only_with_exactly_the_correct_set(lesson, ids, chosen, correct):
    result = grade(lesson, {ids.multiple: [ids.choice[text] for text in chosen]})

    assert result.results[1].correct is correct
    assert result.results[1].points == (1 if correct else 0)


@pytest.mark.parametrize(
    ("text", "correct"),
    [
        ("eight", True),
        ("  EIGHT ", True),
        ("Eight", True),
        ("8", True),
        ("eight counts", False),
        ("seven", False),
        ("", False),
        ("   ", False),
    ],
)
def test_short_answers_match_ignoring_case_and_spaces(lesson, ids, text, correct):
    result = grade(lesson, {ids.short: text})

    assert result.results[2].correct is correct


def test_short_answers_of_several_words_ignore_extra_spaces_between_them():
    question = QuestionFactory(
        kind=Question.Kind.SHORT, accepted_answers="Cha  cha\n", quiz__pass_mark=100
    )

    result = grade(question.quiz.lesson, {str(question.pk): "  CHA   cha "})

    assert (result.results[0].correct, result.passed) == (True, True)


def test_unanswered_questions_count_as_wrong(lesson, ids):
    result = grade(lesson, {})

    assert [item.correct for item in result.results] == [False, False, False]
    assert [item.answer for item in result.results] == [None, None, None]
    assert (result.points, result.score, result.passed) == (0, 0, False)


def weighted_quiz(pass_mark: int) -> tuple[Lesson, str, str]:
    """Two single-choice questions worth 7 and 3 points; returns the lesson and the ids of
    the big question and its right choice."""
    quiz = QuizFactory(pass_mark=pass_mark)
    big = QuestionFactory(quiz=quiz, points=7, order=1)
    small = QuestionFactory(quiz=quiz, points=3, order=2)
    right = ChoiceFactory(question=big, is_correct=True)
    ChoiceFactory(question=small, is_correct=True)
    return quiz.lesson, str(big.pk), str(right.pk)


def test_a_score_exactly_at_the_pass_mark_passes():
    lesson, big, right = weighted_quiz(pass_mark=70)

    result = grade(lesson, {big: [right]})

    assert (result.points, result.max_points, result.score, result.passed) == (7, 10, 70, True)


def test_a_score_just_under_the_pass_mark_fails():
    lesson, big, right = weighted_quiz(pass_mark=71)

    result = grade(lesson, {big: [right]})

    assert (result.score, result.passed) == (70, False)


def test_the_score_is_rounded_down(lesson, ids):
    answers = ids.all_right()
    del answers[ids.short]

    result = grade(lesson, answers)

    assert (result.points, result.max_points, result.score) == (2, 3, 66)


def _validation_fields(lesson: Lesson, answers) -> dict:
    with pytest.raises(ApplicationError) as raised:
        grade(lesson, answers)
    assert raised.value.code == ErrorCode.VALIDATION_ERROR
    return raised.value.fields


def test_an_unknown_question_id_is_rejected(lesson, ids):
    unknown = str(uuid.uuid4())

    fields = _validation_fields(lesson, {**ids.all_right(), unknown: "eight", "nope": "x"})

    assert fields == {
        f"answers.{unknown}": ["This quiz has no question with this id."],
        "answers.nope": ["This quiz has no question with this id."],
    }


def test_a_choice_of_another_question_is_rejected(lesson, ids):
    fields = _validation_fields(lesson, {ids.single: [ids.choice["Left"]]})

    assert fields == {
        f"answers.{ids.single}": [f"This question has no choice with id “{ids.choice['Left']}”."]
    }


def test_answers_of_the_wrong_shape_are_rejected(lesson, ids):
    fields = _validation_fields(
        lesson,
        {
            ids.single: [ids.choice["Three"], ids.choice["Four"]],
            ids.multiple: ids.choice["Left"],
            ids.short: ["eight"],
        },
    )

    assert fields == {
        f"answers.{ids.single}": ["Choose exactly one answer."],
        f"answers.{ids.multiple}": ["Send a list of choice ids."],
        f"answers.{ids.short}": ["Send the answer as text."],
    }
    assert _validation_fields(lesson, ["eight"]) == {
        "answers": ["Send an object of answers keyed by question id."]
    }


def test_a_lesson_without_quiz_questions_has_no_quiz():
    empty = QuizFactory()
    text_lesson = LessonFactory(kind=Lesson.Kind.TEXT)

    for lesson in (empty.lesson, text_lesson):
        with pytest.raises(NotFoundError) as raised:
            quiz_get(lesson=lesson)
        assert raised.value.code == ErrorCode.QUIZ_NOT_FOUND


def test_loading_a_quiz_takes_three_queries_however_many_questions(
    django_assert_num_queries, lesson
):
    quiz = quiz_with_questions(lesson=lesson)
    for order in range(4, 30):
        question = QuestionFactory(quiz=quiz, order=order)
        ChoiceFactory(question=question, is_correct=True)

    with django_assert_num_queries(3):
        loaded = quiz_get(lesson=lesson)
        result = quiz_grade(quiz=loaded, answers={})

    assert result.max_points == 29


# --- Submitting ---------------------------------------------------------------------------------


def test_an_attempt_is_stored_with_answers_results_and_score(user, lesson, ids):
    answers = {ids.single: [ids.choice["Four"]], ids.short: " Eight "}

    submission = quiz_attempt_submit(user=user, lesson=lesson, answers=answers)

    attempt = QuizAttempt.objects.get()
    assert submission.attempt == attempt
    assert (submission.created, submission.outcome, submission.xp_awarded) == (True, None, 0)
    assert submission.lesson_status == "not_started"
    assert (attempt.user, attempt.lesson, attempt.client_id) == (user, lesson, None)
    assert attempt.answers == answers
    assert [result["correct"] for result in attempt.results] == [True, False, True]
    assert [result["answer"] for result in attempt.results] == [
        [ids.choice["Four"]],
        None,
        " Eight ",
    ]
    assert (attempt.points, attempt.max_points, attempt.score) == (2, 3, 66)
    assert (attempt.pass_mark, attempt.passed) == (70, False)


def test_a_failing_attempt_leaves_the_lesson_incomplete_and_awards_nothing(user, lesson, ids):
    quiz_attempt_submit(user=user, lesson=lesson, answers={})

    assert not LessonProgress.objects.filter(user=user, lesson=lesson).exists()
    assert not XPAward.objects.filter(user=user).exists()


def test_passing_completes_the_lesson_and_awards_lesson_and_quiz_xp(user, lesson, ids, settings):
    settings.LMS_XP_QUIZ_PASS = 20
    lesson.xp_value = 10
    lesson.save()

    submission = quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())

    assert (submission.created, submission.xp_awarded) == (True, 30)
    assert submission.lesson_status == "completed"
    assert submission.outcome.completed_lessons == [lesson]
    progress = LessonProgress.objects.get(user=user, lesson=lesson)
    assert progress.status == LessonProgress.Status.COMPLETED
    assert progress.completed_at == submission.attempt.created_at
    awards = XPAward.objects.filter(user=user).order_by("reason")
    assert [(award.reason, award.amount, award.lesson) for award in awards] == [
        ("lesson_completed", 10, lesson),
        ("quiz_passed", 20, lesson),
    ]
    assert LearnerStats.objects.get(user=user).xp_total == 30


def test_retries_are_allowed_and_each_attempt_is_stored(user, lesson, ids):
    first = quiz_attempt_submit(user=user, lesson=lesson, answers={})
    second = quiz_attempt_submit(user=user, lesson=lesson, answers={ids.short: "8"})
    third = quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())

    scores = list(
        QuizAttempt.objects.filter(user=user).order_by("created_at").values_list("score", "passed")
    )
    assert scores == [(0, False), (33, False), (100, True)]
    assert [first.lesson_status, second.lesson_status, third.lesson_status] == [
        "not_started",
        "not_started",
        "completed",
    ]


def test_passing_twice_awards_the_xp_once(user, lesson, ids):
    first = quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())
    quiz_attempt_submit(user=user, lesson=lesson, answers={})
    again = quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())

    assert (first.xp_awarded, again.xp_awarded) == (30, 0)
    assert (again.created, again.attempt.passed, again.lesson_status) == (True, True, "completed")
    assert QuizAttempt.objects.filter(user=user).count() == 3
    assert XPAward.objects.filter(user=user).count() == 2
    assert LearnerStats.objects.get(user=user).xp_total == 30
    # The lesson keeps its first completion time.
    progress = LessonProgress.objects.get(user=user, lesson=lesson)
    assert progress.completed_at == first.attempt.created_at


def test_a_retried_client_id_is_stored_once(user, lesson, ids):
    client_id = uuid.uuid4()

    first = quiz_attempt_submit(
        user=user, lesson=lesson, answers=ids.all_right(), client_id=client_id
    )
    # The retry's answers do not matter: it is the same submission, sent again.
    again = quiz_attempt_submit(user=user, lesson=lesson, answers={}, client_id=client_id)

    assert (first.created, again.created) == (True, False)
    assert again.attempt == first.attempt
    assert (again.outcome, again.xp_awarded, again.lesson_status) == (None, 0, "completed")
    attempt = QuizAttempt.objects.get()
    assert (attempt.client_id, attempt.score) == (client_id, 100)
    assert LearnerStats.objects.get(user=user).xp_total == 30


def test_a_client_id_is_the_learners_own(user, lesson, ids):
    client_id = uuid.uuid4()
    other = UserFactory()
    quiz_attempt_submit(user=other, lesson=lesson, answers={}, client_id=client_id)

    mine = quiz_attempt_submit(
        user=user, lesson=lesson, answers=ids.all_right(), client_id=client_id
    )

    assert mine.created is True
    assert QuizAttempt.objects.filter(client_id=client_id).count() == 2


def test_a_client_id_used_for_another_quiz_is_rejected(user, lesson, ids):
    other_lesson = quiz_lesson(course=CourseFactory())
    quiz_with_questions(lesson=other_lesson)
    client_id = uuid.uuid4()
    quiz_attempt_submit(user=user, lesson=other_lesson, answers={}, client_id=client_id)

    with pytest.raises(ApplicationError) as raised:
        quiz_attempt_submit(user=user, lesson=lesson, answers={}, client_id=client_id)

    assert raised.value.code == ErrorCode.VALIDATION_ERROR
    assert raised.value.fields == {"client_id": ["This client id was used for another quiz."]}
    assert QuizAttempt.objects.count() == 1


def test_bad_answers_store_nothing(user, lesson, ids):
    with pytest.raises(ApplicationError):
        quiz_attempt_submit(user=user, lesson=lesson, answers={str(uuid.uuid4()): "x"})

    assert not QuizAttempt.objects.exists()


def test_a_locked_lesson_cannot_be_submitted(user, ids):
    paid = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory())
    locked = quiz_lesson(course=paid)
    quiz_with_questions(lesson=locked)

    with pytest.raises(ApplicationError) as raised:
        quiz_attempt_submit(user=user, lesson=locked, answers={})

    assert raised.value.code == ErrorCode.UPGRADE_REQUIRED
    assert not QuizAttempt.objects.exists()


def test_an_unpublished_lesson_does_not_exist_for_learners(user, ids):
    hidden = quiz_lesson(is_published=False)
    quiz_with_questions(lesson=hidden)

    with pytest.raises(ApplicationError) as raised:
        quiz_attempt_submit(user=user, lesson=hidden, answers={})

    assert raised.value.code == ErrorCode.LESSON_NOT_FOUND


def _submission_queries(user: User, question_count: int) -> int:
    lesson = quiz_lesson(course=CourseFactory())
    quiz = QuizFactory(lesson=lesson)
    answers = {}
    for order in range(question_count):
        question = QuestionFactory(quiz=quiz, order=order)
        right = ChoiceFactory(question=question, is_correct=True)
        ChoiceFactory(question=question)
        answers[str(question.pk)] = [str(right.pk)]
    lesson = Lesson.objects.select_related("course").get(pk=lesson.pk)
    with CaptureQueriesContext(connection) as queries:
        submission = quiz_attempt_submit(user=user, lesson=lesson, answers=answers)
    assert submission.attempt.passed
    return len(queries)


def test_the_queries_of_a_passing_submission_do_not_grow_with_the_questions():
    small = _submission_queries(UserFactory(), 3)
    large = _submission_queries(UserFactory(), 30)

    assert small == large
    # With the two reads of the attempt rules (attempts, staff grants) and the analytics
    # events (the attempt; the completion's, with the rest of the progress write); plus 2
    # (issue 17): the course's structure rules (sections and lessons, whatever their
    # number), read because the cache is cold here; none once cached, and none through the
    # API, whose lesson comes annotated with whether its course has rules at all.
    assert large <= 30


# --- Races (PostgreSQL) -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_submission_sent_many_times_at_once_is_stored_once():
    user = UserFactory()
    lesson = quiz_lesson()
    answers = Ids(quiz_with_questions(lesson=lesson)).all_right()
    client_id = uuid.uuid4()

    def submit() -> bool:
        return quiz_attempt_submit(
            user=user, lesson=lesson, answers=answers, client_id=client_id
        ).created

    results = run_together([submit for _ in range(6)])

    assert sorted(results) == [False] * 5 + [True]
    assert QuizAttempt.objects.filter(user=user).count() == 1
    assert LearnerStats.objects.get(user=user).xp_total == 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_passing_many_times_at_once_awards_the_xp_once():
    user = UserFactory()
    lesson = quiz_lesson()
    answers = Ids(quiz_with_questions(lesson=lesson)).all_right()

    def submit() -> int:
        return quiz_attempt_submit(user=user, lesson=lesson, answers=answers).xp_awarded

    results = run_together([submit for _ in range(6)])

    assert sorted(results) == [0] * 5 + [30]
    assert QuizAttempt.objects.filter(user=user, passed=True).count() == 6
    assert XPAward.objects.filter(user=user).count() == 2
    assert LearnerStats.objects.get(user=user).xp_total == 30


# --- The attempt rules ----------------------------------------------------------------------------


def _fail(user, lesson, *, now=None, client_id=None):
    return quiz_attempt_submit(user=user, lesson=lesson, answers={}, now=now, client_id=client_id)


def test_existing_and_new_quizzes_get_the_defaults(quiz):
    quiz.refresh_from_db()
    assert (quiz.max_attempts, quiz.retry_wait_minutes, quiz.reveal_answers) == (
        3,
        0,
        "after_last_attempt",
    )


def test_no_attempt_beyond_the_limit(user, lesson, quiz, ids):
    for left in (2, 1, 0):
        assert _fail(user, lesson).record.attempts_left == left

    with pytest.raises(ApplicationError) as refused:
        quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())

    assert refused.value.code == ErrorCode.QUIZ_ATTEMPTS_EXHAUSTED
    assert refused.value.status == 409
    assert QuizAttempt.objects.filter(user=user).count() == 3
    assert not LessonProgress.objects.filter(user=user, lesson=lesson).exists()


def test_an_unlimited_quiz_never_runs_out(user, lesson, quiz):
    quiz.max_attempts = None
    quiz.save()

    for _ in range(5):
        submission = _fail(user, lesson)

    assert (submission.record.attempts_left, submission.record.can_attempt) == (None, True)
    # Unlimited: "after the last attempt" means after passing.
    assert submission.record.answers_revealed is False


def test_the_next_attempt_waits_after_a_failed_one(user, lesson, quiz, ids):
    quiz.retry_wait_minutes = 30
    quiz.save()
    failed_at = timezone.now() - timedelta(minutes=10)
    _fail(user, lesson, now=failed_at)

    with pytest.raises(ApplicationError) as refused:
        quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())

    assert refused.value.code == ErrorCode.QUIZ_RETRY_NOT_YET
    assert refused.value.retry_at == failed_at + timedelta(minutes=30)
    assert QuizAttempt.objects.filter(user=user).count() == 1
    # Once the wait is over, the next attempt goes through.
    later = failed_at + timedelta(minutes=30)
    submission = _fail(user, lesson, now=later)
    assert (submission.created, submission.attempt.created_at) == (True, later)
    assert submission.record.next_attempt_at == later + timedelta(minutes=30)


def test_a_retried_client_id_returns_its_attempt_even_with_no_attempt_left(user, lesson, quiz):
    client_id = uuid.uuid4()
    first = _fail(user, lesson, client_id=client_id)
    _fail(user, lesson)
    _fail(user, lesson)

    again = _fail(user, lesson, client_id=client_id)

    assert (again.created, again.attempt.pk) == (False, first.attempt.pk)
    assert again.record.attempts_left == 0
    assert QuizAttempt.objects.filter(user=user).count() == 3


def test_a_retried_client_id_is_not_refused_by_the_wait(user, lesson, quiz):
    quiz.retry_wait_minutes = 60
    quiz.save()
    client_id = uuid.uuid4()
    first = _fail(user, lesson, client_id=client_id)

    again = _fail(user, lesson, client_id=client_id)

    assert (again.created, again.attempt.pk) == (False, first.attempt.pk)


def test_after_a_pass_retakes_are_practice_that_count_against_nothing(user, lesson, quiz, ids):
    quiz.max_attempts = 1
    quiz.retry_wait_minutes = 60
    quiz.save()
    quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())

    practice = [_fail(user, lesson) for _ in range(3)]

    assert all(submission.created for submission in practice)
    record = practice[-1].record
    assert (record.passed, record.best_score, record.can_attempt) == (True, 100, True)
    progress = LessonProgress.objects.get(user=user, lesson=lesson)
    assert progress.is_completed
    assert LearnerStats.objects.get(user=user).xp_total == 30


@pytest.mark.parametrize(
    ("policy", "after_fail", "after_last", "after_pass"),
    [
        ("never", False, False, False),
        ("after_passing", False, False, True),
        ("after_last_attempt", False, True, True),
    ],
)
def test_the_reveal_policy(user, lesson, quiz, ids, policy, after_fail, after_last, after_pass):
    quiz.reveal_answers = policy
    quiz.max_attempts = 2
    quiz.save()
    passer = UserFactory()

    assert _fail(user, lesson).record.answers_revealed is after_fail
    assert _fail(user, lesson).record.answers_revealed is after_last
    passed = quiz_attempt_submit(user=passer, lesson=lesson, answers=ids.all_right())
    assert passed.record.answers_revealed is after_pass


def test_staff_grant_one_more_attempt_with_an_audit_row(user, lesson, quiz, ids):
    staff = UserFactory(is_staff=True)
    for _ in range(3):
        _fail(user, lesson)

    grant = quiz_attempt_grant(user=user, quiz=quiz, granted_by=staff, reason="Power cut")
    submission = quiz_attempt_submit(user=user, lesson=lesson, answers=ids.all_right())

    grant.refresh_from_db()
    assert (grant.user, grant.lesson, grant.granted_by, grant.reason) == (
        user,
        lesson,
        staff,
        "Power cut",
    )
    assert submission.attempt.passed
    assert (submission.record.max_attempts, submission.record.attempts_left) == (4, 0)
    assert QuizAttemptGrant.objects.filter(user=user).count() == 1


def test_an_editor_previewing_a_draft_quiz_has_no_limit():
    editor = UserFactory(is_staff=True, is_superuser=True)
    lesson = quiz_lesson(CourseFactory(status=Course.Status.DRAFT))
    quiz_with_questions(lesson=lesson, max_attempts=1, retry_wait_minutes=60)

    submissions = [_fail(editor, lesson) for _ in range(3)]

    assert [submission.record.answers_revealed for submission in submissions] == [True] * 3
    assert QuizAttempt.objects.filter(user=editor).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_cannot_both_be_the_last_allowed_attempt():
    user = UserFactory()
    lesson = quiz_lesson()
    quiz_with_questions(lesson=lesson, max_attempts=2)
    _fail(user, lesson)  # one attempt left

    def submit() -> str:
        try:
            _fail(user, lesson)
        except ApplicationError as error:
            return str(error.code)
        return "stored"

    results = run_together([submit for _ in range(6)])

    assert sorted(results) == ["QUIZ_ATTEMPTS_EXHAUSTED"] * 5 + ["stored"]
    assert QuizAttempt.objects.filter(user=user).count() == 2
