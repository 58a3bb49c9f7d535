"""The published event catalog: every event type the store accepts, in one registry.

Each type says who sends it (an app, or only the server), whether it names a lesson (whose
course the server then fills in) or may name a course, and its properties: name, type and
bounds. Ingestion (`analytics.services.ingest`) validates client events against it, the
API schema and the README list it, and the rollups read the stored keys it fixes. Adding a
type is one `EventType(...)` entry here; a released type's properties only ever gain
optional keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Source(StrEnum):
    CLIENT = "client"
    SERVER = "server"


class Ref(StrEnum):
    """Whether an event names a lesson or a course."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


# Longest video position / seek target accepted: 24 hours, in seconds.
MAX_SECONDS = 86_400.0


@dataclass(frozen=True)
class Prop:
    """One property: `kind` is "number" (int or float, stored as float), "integer",
    "string" or "boolean"; numbers within [minimum, maximum], strings up to `max_length`."""

    kind: str
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 200
    nullable: bool = False
    description: str = ""

    def clean(self, value: Any) -> tuple[bool, Any]:
        """(valid, the value to store)."""
        if value is None:
            return self.nullable, None
        kind = type(value)
        if self.kind == "number":
            if (kind is not float and kind is not int) or not math.isfinite(value):
                return False, None
            value = float(value)
        elif self.kind == "integer":
            if kind is not int:
                return False, None
        elif self.kind == "string":
            return kind is str and len(value) <= self.max_length, value
        elif self.kind == "boolean":
            return kind is bool, value
        if self.minimum is not None and value < self.minimum:
            return False, None
        if self.maximum is not None and value > self.maximum:
            return False, None
        return True, value

    def schema(self) -> dict[str, Any]:
        """This property as OpenAPI (JSON Schema)."""
        out: dict[str, Any] = {"type": self.kind}
        if self.kind in ("number", "integer"):
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        if self.kind == "string":
            out["maxLength"] = self.max_length
        if self.nullable:
            out["nullable"] = True
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class EventType:
    name: str
    source: Source
    description: str
    lesson: Ref = Ref.NONE
    course: Ref = Ref.NONE
    properties: dict[str, Prop] = field(default_factory=dict)

    def properties_clean(self, raw: Any) -> dict[str, Any] | None:
        """The properties to store (declared keys only), or None when they do not fit.
        Unknown keys are refused, so a typo is seen at once rather than stored unread."""
        if raw is None:
            raw = {}
        elif type(raw) is not dict:
            return None
        props = self.properties
        if len(raw) > len(props) or any(key not in props for key in raw):
            return None
        cleaned: dict[str, Any] = {}
        for name, prop in props.items():
            if name not in raw:
                if prop.required:
                    return None
                continue
            ok, value = prop.clean(raw[name])
            if not ok:
                return None
            cleaned[name] = value
        return cleaned


def _position(description: str = "Seconds into the video.") -> Prop:
    return Prop("number", minimum=0, maximum=MAX_SECONDS, description=description)


EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in [
        # --- Sent by the apps (web player, mobile, desktop) ---
        EventType(
            "lesson.viewed",
            Source.CLIENT,
            "A learner opened a lesson.",
            lesson=Ref.REQUIRED,
        ),
        EventType(
            "video.play",
            Source.CLIENT,
            "The video started or resumed playing.",
            lesson=Ref.REQUIRED,
            properties={"position": _position()},
        ),
        EventType(
            "video.pause",
            Source.CLIENT,
            "The video was paused.",
            lesson=Ref.REQUIRED,
            properties={"position": _position()},
        ),
        EventType(
            "video.seek",
            Source.CLIENT,
            "The learner jumped in the video: back (a rewatch) or forward (a skip).",
            lesson=Ref.REQUIRED,
            properties={
                "from": _position("Seconds into the video before the jump."),
                "to": _position("Seconds into the video after the jump."),
            },
        ),
        EventType(
            "video.rate",
            Source.CLIENT,
            "The playback speed changed.",
            lesson=Ref.REQUIRED,
            properties={
                "position": _position(),
                "rate": Prop("number", minimum=0.1, maximum=16, description="Speed, 1 = normal."),
            },
        ),
        EventType(
            "quiz.started",
            Source.CLIENT,
            "A learner opened a lesson's quiz to answer it.",
            lesson=Ref.REQUIRED,
        ),
        EventType(
            "search",
            Source.CLIENT,
            "A search in the catalog (or within a course).",
            course=Ref.OPTIONAL,
            properties={
                "query": Prop("string", max_length=200, description="What was typed."),
                "results": Prop("integer", minimum=0, description="Results shown."),
            },
        ),
        EventType("app.opened", Source.CLIENT, "The app came to the foreground."),
        # --- Written by the server itself (lms.events.server_event_record) ---
        EventType(
            "user.signed_up",
            Source.SERVER,
            "An account was created.",
        ),
        EventType(
            "enrollment.created",
            Source.SERVER,
            "A learner enrolled in a course (or came back to it after unenrolling).",
            course=Ref.REQUIRED,
            properties={"source": Prop("string", max_length=20)},
        ),
        EventType(
            "lesson.completed",
            Source.SERVER,
            "A learner completed a lesson (once per learner and lesson).",
            lesson=Ref.REQUIRED,
            course=Ref.REQUIRED,
        ),
        EventType(
            "course.completed",
            Source.SERVER,
            "A learner completed every required lesson of a course.",
            course=Ref.REQUIRED,
        ),
        EventType(
            "quiz.attempted",
            Source.SERVER,
            "A learner submitted an attempt at a quiz.",
            lesson=Ref.REQUIRED,
            course=Ref.REQUIRED,
            properties={
                "score": Prop("integer", minimum=0, maximum=100, description="Percent."),
                "passed": Prop("boolean"),
                "attempt_id": Prop("string", max_length=36),
            },
        ),
        EventType(
            "subscription.changed",
            Source.SERVER,
            "A subscription was created or changed status, plan, interval or amount.",
            properties={
                "tier": Prop("string", max_length=60, nullable=True),
                "plan": Prop("string", max_length=60, nullable=True),
                "status": Prop("string", max_length=20),
                "previous_status": Prop("string", max_length=20, nullable=True),
                "interval": Prop("string", max_length=10),
                "amount_cents": Prop("integer", minimum=0, nullable=True),
                "currency": Prop("string", max_length=3),
            },
        ),
    ]
}

CLIENT_TYPES = sorted(name for name, event in EVENT_TYPES.items() if event.source == Source.CLIENT)
SERVER_TYPES = sorted(name for name, event in EVENT_TYPES.items() if event.source == Source.SERVER)
