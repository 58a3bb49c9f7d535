"""Staff give a learner who ran out of attempts one more, from the quiz attempts admin."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalog.models import Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from lms.errors import ApplicationError, ErrorCode
from progress.models import QuizAttempt, QuizAttemptGrant
from progress.services import quiz_attempt_submit

pytestmark = pytest.mark.django_db

URL = reverse("admin:progress_quizattempt_changelist")


@pytest.fixture(autouse=True)
def _admin_without_mfa(settings):
    settings.LMS_ADMIN_REQUIRE_MFA = False


def test_the_action_grants_each_learner_one_more_attempt_with_an_audit_row(staff_client):
    section = SectionFactory(course=CourseFactory())
    LessonFactory(section=section, order=0)
    lesson = LessonFactory(section=section, kind=Lesson.Kind.QUIZ, order=1)
    quiz_with_questions(lesson=lesson, max_attempts=2)
    learner = UserFactory()
    for _ in range(2):
        quiz_attempt_submit(user=learner, lesson=lesson, answers={})
    with pytest.raises(ApplicationError) as refused:
        quiz_attempt_submit(user=learner, lesson=lesson, answers={})
    assert refused.value.code == ErrorCode.QUIZ_ATTEMPTS_EXHAUSTED

    response = staff_client.post(
        URL,
        {
            "action": "grant_one_more_attempt",
            # Both attempts of the one learner: one grant, not two.
            "_selected_action": [
                str(pk) for pk in QuizAttempt.objects.values_list("pk", flat=True)
            ],
            "index": "0",
        },
    )

    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert str(message).startswith("Granted one more attempt for 1 learner and quiz.")
    grant = QuizAttemptGrant.objects.get()
    assert (grant.user, grant.lesson, grant.granted_by.email) == (
        learner,
        lesson,
        response.wsgi_request.user.email,
    )
    third = quiz_attempt_submit(user=learner, lesson=lesson, answers={})
    assert (third.created, third.record.attempts_left) == (True, 0)
