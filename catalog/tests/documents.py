"""Course documents for the tests of `catalog.documents` and its API: a whole document with
every field written out (as an export writes it), and the people who author."""

import copy
from typing import Any

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory


def author(role: Role = Role.INSTRUCTOR, email: str = "ines@example.com"):
    return user_role_set(user=UserFactory(email=email), role=role, actor=None)


def choice(client_id: str, text: str, is_correct: bool = False) -> dict[str, Any]:
    return {"client_id": client_id, "text": text, "is_correct": is_correct}


def lesson(client_id: str, slug: str, **fields: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "slug": slug,
        "title": slug.replace("-", " ").capitalize(),
        "kind": "text",
        "body": f"Notes for *{slug}*.\n",
        "duration_seconds": 300,
        "is_free_preview": False,
        "is_published": True,
        "is_hidden": False,
        "xp_value": 10,
        "is_boss": False,
        "is_required": True,
        "video": None,
        "attachments": [],
        "quiz": None,
        **fields,
    }


def quiz_lesson(client_id: str, slug: str, **fields: Any) -> dict[str, Any]:
    return lesson(
        client_id,
        slug,
        kind="quiz",
        quiz={
            "pass_mark": 80,
            "max_attempts": None,
            "retry_wait_minutes": 30,
            "reveal_answers": "after_passing",
            "questions": [
                {
                    "client_id": "q-beats",
                    "kind": "single",
                    "prompt": "Beats in a bar?",
                    "explanation": "Salsa counts **four** beats a bar.",
                    "accepted_answers": [],
                    "points": 2,
                    "choices": [
                        choice("c-three", "Three"),
                        choice("c-four", "Four", True),
                    ],
                },
                {
                    "client_id": "q-counts",
                    "kind": "short",
                    "prompt": "Counts in a phrase?",
                    "explanation": "",
                    "accepted_answers": ["eight", "8"],
                    "points": 1,
                    "choices": [],
                },
            ],
        },
        **fields,
    )


# A section's structure rules in a document when it has none.
NO_RULES = {
    "is_hidden": False,
    "release_after_days": None,
    "release_from": "enrollment",
    "release_at": None,
    "prerequisites": [],
}


def document(**course: Any) -> dict[str, Any]:
    """A course of two sections and four lessons, a quiz among them."""
    body = {
        "client_id": "salsa-101",
        "slug": "salsa-basics",
        "title": "Salsa basics",
        "subtitle": "First steps",
        "description": "Learn to **dance**.\n",
        "course_type": "course",
        "difficulty": "beginner",
        "locale": "en",
        "visibility": "public",
        "required_tier": None,
        "progression": "free",
        "prerequisite_courses": [],
        "sections": [
            {
                "client_id": "s-start",
                "title": "Getting started",
                **NO_RULES,
                "lessons": [
                    lesson("l-welcome", "welcome", is_free_preview=True),
                    lesson("l-basic", "basic-step", kind="video", duration_seconds=420),
                ],
            },
            {
                "client_id": "s-turns",
                "title": "Turns",
                **NO_RULES,
                "lessons": [
                    lesson("l-right", "right-turn", is_boss=True, xp_value=50),
                    quiz_lesson("l-check", "check"),
                ],
            },
        ],
    }
    body.update(course)
    return {"format": "lms.course", "version": 1, "course": body}


def counts(**values: int) -> dict[str, int]:
    zero = dict.fromkeys(("courses", "sections", "lessons", "quizzes", "questions", "choices"), 0)
    return {**zero, **values}


def copy_of(value: Any) -> Any:
    return copy.deepcopy(value)
