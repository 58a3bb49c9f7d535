"""The tutor's API with the real `openai` SDK against the loopback fake provider: what reaches
the prompt (only lessons the learner may open, never quiz answers), citations, streaming as
server-sent events, "not configured", errors, conversations and reports."""

import pytest
from django.test import Client

from accounts.deletion import user_account_delete
from accounts.personal_data import personal_data_export
from accounts.tests.factories import UserFactory
from assistant.models import Conversation, LLMCall, Message, TutorQuota, TutorUsage
from assistant.tests.fake_llm import Reply
from assistant.tests.tutor_fixtures import (
    LOCKED_NOTES,
    OPEN_NOTES,
    PREVIEW_NOTES,
    QUIZ_NOTES,
    learner_with_tier,
    school_build,
    sse_events,
)
from catalog.models import Choice, Question

pytestmark = pytest.mark.django_db

QUESTION = "How does salsa timing work with the basic step?"


@pytest.fixture
def school():
    return school_build()


@pytest.fixture
def learner(db):
    return UserFactory()


@pytest.fixture
def learner_client(learner) -> Client:
    client = Client()
    client.force_login(learner)
    return client


def ask_url(lesson) -> str:
    return f"/api/v1/lessons/{lesson.pk}/tutor/"


def ask(client: Client, lesson, question: str = QUESTION, stream: bool = False, **body):
    accept = "text/event-stream" if stream else "application/json"
    return client.post(
        ask_url(lesson),
        {"question": question, **body},
        content_type="application/json",
        HTTP_ACCEPT=accept,
    )


# --- Not configured ------------------------------------------------------------------------


def test_without_a_provider_asking_answers_ai_not_configured_and_takes_no_question(
    school, learner, learner_client
):
    response = ask(learner_client, school.preview)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "AI_NOT_CONFIGURED"
    assert not TutorUsage.objects.exists()
    assert not LLMCall.objects.exists()
    assert not Conversation.objects.exists()


def test_without_a_provider_a_stream_request_gets_the_json_envelope(school, learner_client):
    response = ask(learner_client, school.preview, stream=True)

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "AI_NOT_CONFIGURED"


def test_without_a_provider_the_lesson_tutor_says_not_configured(school, learner_client):
    response = learner_client.get(ask_url(school.preview))

    assert response.status_code == 200
    assert response.json() == {
        "configured": False,
        "quota": {
            "limit": 5,
            "used": 0,
            "remaining": 5,
            "resets_at": response.json()["quota"]["resets_at"],
        },
        "conversations": [],
    }


# --- What the prompt holds ----------------------------------------------------------------


def test_a_locked_lessons_text_never_enters_the_prompt_of_a_learner_who_cannot_open_it(
    school, learner_client, fake_llm
):
    fake_llm.reply("Break on one [1], then lead [2].")

    response = ask(learner_client, school.preview)

    assert response.status_code == 200, response.content
    prompt = fake_llm.last.prompt
    assert PREVIEW_NOTES in prompt
    assert OPEN_NOTES in prompt
    for secret in ("LOCKEDSECRET", "UNPUBLISHEDSECRET", "OTHERCOURSESECRET", "QUIZNOTES"):
        assert secret not in prompt
    assert "On two" not in prompt  # not even the locked lesson's title


def test_the_same_question_from_an_entitled_learner_reads_the_paid_lesson(school, fake_llm):
    client = Client()
    client.force_login(learner_with_tier(school.tier))
    fake_llm.reply("On two [3].")

    response = ask(client, school.preview)

    assert response.status_code == 200
    prompt = fake_llm.last.prompt
    assert LOCKED_NOTES in prompt
    assert "UNPUBLISHEDSECRET" not in prompt and "OTHERCOURSESECRET" not in prompt


def test_asking_about_a_locked_lesson_is_refused_before_any_call(
    school, learner, learner_client, fake_llm
):
    response = ask(learner_client, school.locked)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "UPGRADE_REQUIRED"
    assert fake_llm.requests == []
    assert not TutorUsage.objects.exists()


def test_an_unpublished_lesson_does_not_exist_for_a_learner(school, learner_client, fake_llm):
    response = ask(learner_client, school.unpublished)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "LESSON_NOT_FOUND"
    assert fake_llm.requests == []


def test_quiz_answers_and_explanations_never_enter_the_prompt(school, learner_client, fake_llm):
    fake_llm.reply("Think about the count [1].")

    response = ask(learner_client, school.quiz_lesson, "What is the answer to beats in a bar?")

    assert response.status_code == 200
    prompt = fake_llm.last.prompt
    assert QUIZ_NOTES in prompt
    for choice in Choice.objects.filter(question__quiz__lesson=school.quiz_lesson):
        assert f"{choice.text}" not in prompt.replace("Salsa Quizzes", "")
    for question in Question.objects.filter(quiz__lesson=school.quiz_lesson):
        assert question.explanation not in prompt
        assert question.prompt not in prompt
    assert "eight\n8" not in prompt


def test_the_prompt_tells_the_model_to_refuse_unrelated_requests_and_cite_by_number(
    school, learner_client, fake_llm
):
    fake_llm.reply("I can only help with this course's lessons.")

    ask(learner_client, school.preview, "Write me a poem about cats")

    system = fake_llm.last.messages[0]
    assert system["role"] == "system"
    assert "Do not answer unrelated requests" in system["content"]
    assert "[1]" in system["content"]
    assert "Never give the answers to quiz questions" in system["content"]
    assert fake_llm.last.messages[-1] == {"role": "user", "content": "Write me a poem about cats"}


# --- Answers and citations -----------------------------------------------------------------


def test_an_answer_cites_only_the_lessons_it_used_with_links_to_them(
    school, learner, learner_client, fake_llm
):
    fake_llm.reply("Break on one [1]. The lead uses the basic step [2]. Nothing else [9].")

    response = ask(learner_client, school.preview)

    body = response.json()
    conversation = Conversation.objects.get()
    answer = Message.objects.get(role=Message.Role.ASSISTANT)
    assert body == {
        "conversation": str(conversation.pk),
        "message": {
            "id": str(answer.pk),
            "role": "assistant",
            "text": "Break on one [1]. The lead uses the basic step [2]. Nothing else [9].",
            "citations": body["citations"],
            "created_at": body["message"]["created_at"],
            "flagged": False,
        },
        "answer": "Break on one [1]. The lead uses the basic step [2]. Nothing else [9].",
        "citations": [
            {
                "number": 1,
                "lesson": str(school.preview.pk),
                "title": "Timing",
                "url": f"http://testserver{school.preview.get_absolute_url()}",
            },
            {
                "number": 2,
                "lesson": str(school.open_lesson.pk),
                "title": "Cross body lead",
                "url": f"http://testserver{school.open_lesson.get_absolute_url()}",
            },
        ],
        "quota": {
            "limit": 5,
            "used": 1,
            "remaining": 4,
            "resets_at": body["quota"]["resets_at"],
        },
    }
    assert conversation.user == learner and conversation.lesson == school.preview
    assert [m.role for m in conversation.messages.order_by("created_at")] == ["user", "assistant"]
    assert answer.llm_call.purpose == "tutor" and answer.llm_call.status == "ok"


def test_every_citation_is_a_published_lesson_the_learner_may_open(
    school, learner, learner_client, fake_llm
):
    # However the model numbers, only what the prompt offered can be cited.
    fake_llm.reply(" ".join(f"[{n}]" for n in range(1, 12)))

    response = ask(learner_client, school.preview)

    cited = {item["lesson"] for item in response.json()["citations"]}
    assert cited == {str(school.preview.pk), str(school.open_lesson.pk)}


def test_a_follow_up_continues_the_conversation_with_its_history(school, learner_client, fake_llm):
    fake_llm.reply("First answer [1].")
    first = ask(learner_client, school.preview).json()
    fake_llm.reply("Second answer [1].")

    second = ask(learner_client, school.preview, "And then?", conversation=first["conversation"])

    assert second.status_code == 200
    assert second.json()["conversation"] == first["conversation"]
    roles = [(m["role"], m["content"]) for m in fake_llm.last.messages[2:]]
    assert roles == [
        ("user", QUESTION),
        ("assistant", "First answer [1]."),
        ("user", "And then?"),
    ]
    assert Message.objects.count() == 4


def test_someone_elses_conversation_cannot_be_continued(school, learner_client, fake_llm):
    fake_llm.reply("Answer [1].")
    other = Client()
    other.force_login(UserFactory())
    theirs = ask(other, school.preview).json()["conversation"]

    response = ask(learner_client, school.preview, conversation=theirs)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "TUTOR_CONVERSATION_NOT_FOUND"
    assert len(fake_llm.requests) == 1


@pytest.mark.parametrize(
    ("question", "message"),
    [("   ", "This field may not be blank."), ("x" * 2001, None)],
)
def test_a_blank_or_too_long_question_is_a_validation_error(
    school, learner_client, fake_llm, question, message
):
    response = ask(learner_client, school.preview, question)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "question" in error["fields"]
    assert fake_llm.requests == [] and not TutorUsage.objects.exists()


# --- Streaming -----------------------------------------------------------------------------


def test_a_streamed_answer_arrives_as_server_sent_events_in_order(
    school, learner, learner_client, fake_llm
):
    fake_llm.reply(chunks=["Break ", "on one ", "[1]."])

    response = ask(learner_client, school.preview, stream=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    events = sse_events(response)
    conversation = Conversation.objects.get()
    answer = Message.objects.get(role=Message.Role.ASSISTANT)
    quota = events[0][1]["quota"]
    assert quota["used"] == 1 and quota["remaining"] == 4 and quota["limit"] == 5
    assert events == [
        ("conversation", {"id": str(conversation.pk), "quota": quota}),
        ("delta", {"text": "Break "}),
        ("delta", {"text": "on one "}),
        ("delta", {"text": "[1]."}),
        (
            "citations",
            [
                {
                    "number": 1,
                    "lesson": str(school.preview.pk),
                    "title": "Timing",
                    "url": f"http://testserver{school.preview.get_absolute_url()}",
                }
            ],
        ),
        ("done", {"message_id": str(answer.pk), "quota": quota}),
    ]
    assert answer.text == "Break on one [1]."
    assert fake_llm.last.body["stream"] is True
    assert answer.llm_call.streamed is True


def test_a_stream_that_breaks_midway_ends_with_an_error_event_and_gives_the_question_back(
    school, learner, learner_client, fake_llm
):
    fake_llm.reply(chunks=["Break ", "on ", "one."], break_after=1)

    events = sse_events(ask(learner_client, school.preview, stream=True))

    assert [name for name, _ in events] == ["conversation", "delta", "error"]
    assert events[-1][1]["code"] == "AI_PROVIDER_ERROR"
    assert TutorUsage.objects.get(user=learner).count == 0
    assert not Message.objects.exists()


def test_a_stream_refused_before_any_text_answers_with_the_envelope(
    school, learner, learner_client, fake_llm
):
    fake_llm.fail_next(500)

    response = ask(learner_client, school.preview, stream=True)

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "AI_PROVIDER_ERROR"
    assert TutorUsage.objects.get(user=learner).count == 0


def test_a_provider_timeout_answers_ai_timeout_and_gives_the_question_back(
    school, learner, learner_client, fake_llm, settings
):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    fake_llm.queue(Reply(text="Too late", delay=1.5))

    response = ask(learner_client, school.preview)

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "AI_TIMEOUT"
    assert TutorUsage.objects.get(user=learner).count == 0
    assert not Message.objects.exists()


# Closing a streamed response sends request_finished, which closes the connection: a real
# transaction then, not the test's.
@pytest.mark.django_db(transaction=True)
def test_a_learner_leaving_midway_keeps_what_they_saw(school, learner, learner_client, fake_llm):
    fake_llm.reply(chunks=["Break ", "on ", "one."])
    response = ask(learner_client, school.preview, stream=True)
    content = iter(response.streaming_content)

    next(content), next(content)  # conversation, first delta
    response.close()

    answer = Message.objects.get(role=Message.Role.ASSISTANT)
    assert answer.text == "Break "
    assert LLMCall.objects.get().status == "cancelled"


# --- Quota through the API -----------------------------------------------------------------


def test_the_last_question_of_the_day_then_quota_exhausted_with_when_it_resets(
    school, learner, learner_client, fake_llm
):
    TutorQuota.objects.create(tier=None, questions_per_day=1)
    fake_llm.reply("Answer [1].")

    assert ask(learner_client, school.preview).status_code == 200
    response = ask(learner_client, school.preview)

    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "TUTOR_QUOTA_EXHAUSTED"
    assert "retry_at" in error and int(response["Retry-After"]) >= 1
    assert len(fake_llm.requests) == 1


def test_a_tier_without_the_tutor_answers_not_in_plan(school, fake_llm):
    TutorQuota.objects.create(tier=school.tier, questions_per_day=0)
    client = Client()
    client.force_login(learner_with_tier(school.tier))

    response = ask(client, school.preview)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TUTOR_NOT_IN_PLAN"
    assert fake_llm.requests == []


def test_visitors_must_sign_in(school, fake_llm):
    response = ask(Client(), school.preview)

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


# --- Conversations and reports -------------------------------------------------------------


def test_a_learner_reads_lists_and_deletes_their_conversation(
    school, learner, learner_client, fake_llm
):
    fake_llm.reply("Answer [1].")
    conversation_id = ask(learner_client, school.preview).json()["conversation"]

    state = learner_client.get(ask_url(school.preview)).json()
    listed = learner_client.get("/api/v1/tutor/conversations/").json()
    detail = learner_client.get(f"/api/v1/tutor/conversations/{conversation_id}/").json()
    deleted = learner_client.delete(f"/api/v1/tutor/conversations/{conversation_id}/")

    assert state["configured"] is True and state["quota"]["used"] == 1
    assert [c["id"] for c in state["conversations"]] == [conversation_id]
    assert [c["id"] for c in listed["results"]] == [conversation_id]
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["lesson"]["id"] == str(school.preview.pk)
    assert deleted.status_code == 204
    assert not Conversation.objects.exists() and not Message.objects.exists()
    # Deleting the conversation does not give the question back.
    assert TutorUsage.objects.get(user=learner).count == 1


def test_another_learner_cannot_read_delete_or_report_a_conversation(
    school, learner_client, fake_llm
):
    fake_llm.reply("Answer [1].")
    body = ask(learner_client, school.preview).json()
    stranger = Client()
    stranger.force_login(UserFactory())
    path = f"/api/v1/tutor/conversations/{body['conversation']}/"

    assert stranger.get(path).json()["error"]["code"] == "TUTOR_CONVERSATION_NOT_FOUND"
    assert stranger.delete(path).status_code == 404
    flagged = stranger.post(
        f"/api/v1/tutor/messages/{body['message']['id']}/flag/", {}, content_type="application/json"
    )
    assert flagged.json()["error"]["code"] == "TUTOR_MESSAGE_NOT_FOUND"
    assert Conversation.objects.count() == 1


def test_a_learner_reports_an_answer_for_staff_review(school, learner_client, fake_llm):
    fake_llm.reply("Answer [1].")
    message_id = ask(learner_client, school.preview).json()["message"]["id"]

    response = learner_client.post(
        f"/api/v1/tutor/messages/{message_id}/flag/",
        {"reason": "Wrong count"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["flagged"] is True
    answer = Message.objects.get(pk=message_id)
    assert answer.flag_reason == "Wrong count" and answer.flagged_at is not None


def test_reading_a_conversation_costs_the_same_queries_however_long(
    school, learner, learner_client, fake_llm, django_assert_max_num_queries
):
    TutorQuota.objects.create(tier=None, questions_per_day=10)
    fake_llm.reply("Answer [1].")
    conversation_id = ask(learner_client, school.preview).json()["conversation"]
    for _ in range(5):
        assert ask(learner_client, school.preview, conversation=conversation_id).status_code == 200

    with django_assert_max_num_queries(6):
        response = learner_client.get(f"/api/v1/tutor/conversations/{conversation_id}/")

    assert len(response.json()["messages"]) == 12


# --- The learner's own data ----------------------------------------------------------------


def test_the_data_export_holds_the_conversations_and_deleting_the_account_erases_them(
    school, learner, learner_client, fake_llm
):
    fake_llm.reply("Break on one [1].")
    ask(learner_client, school.preview)

    exported = personal_data_export(user=learner)["assistant"]
    user_account_delete(user=learner)

    [conversation] = exported["tutor_conversations"]
    assert [m["text"] for m in conversation["messages"]] == [QUESTION, "Break on one [1]."]
    assert exported["tutor_questions_per_day"][0]["count"] == 1
    assert [call["purpose"] for call in exported["ai_calls"]] == ["tutor"]
    assert not Conversation.objects.exists() and not TutorUsage.objects.exists()
    assert LLMCall.objects.get().user is None  # the spend stays, unlinked
