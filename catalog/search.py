"""Catalog search: courses, and the lessons inside them.

PostgreSQL: full-text search over GIN expression indexes (courses: migration 0002, lessons:
the `lesson_search` migration). Course title A, subtitle B, description C; lesson title A,
notes B; `websearch` queries ("salsa -timing", quoted phrases); ranked; highlighted snippets
from `ts_headline`. Elsewhere (SQLite in development): every word must appear, case-blind,
and the snippet is cut in Python. The vector expressions below are the ones the indexes are
built on; keep them equal or PostgreSQL stops using the indexes.

What a visitor may find (the access policy's filters, `catalog.access`):
- published lessons of listed courses only (never drafts, never unpublished lessons);
- a lesson the visitor may open matches on its title and its notes, and shows a snippet;
- a locked lesson matches on its title only, shows as locked, and never has a snippet: its
  notes are not searched, not read, not sent (its title is in the course outline anyway).
A course matches on its own text or through one of those lessons.
"""

import html
import re
from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVector,
)
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from catalog.access import lessons_open_q, lessons_shown_q, structure_for
from catalog.models import Course, Lesson
from catalog.structure import lesson_rule_flags

SEARCH_CONFIG = "english"
# Lessons shown under each course of a results page; the rest are counted.
LESSONS_PER_COURSE = 3
MAX_WORDS = 8  # the SQLite fallback's AND of words
SNIPPET_CHARS = 160  # the SQLite fallback's window around the first match
# ts_headline marks matches with these (no author writes them), turned into <mark> after
# the rest is escaped, so the notes' own markup can never reach the page.
_START, _STOP = "\x02", "\x03"


def course_search_vector() -> SearchVector:
    return (
        SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("subtitle", weight="B", config=SEARCH_CONFIG)
        + SearchVector("description", weight="C", config=SEARCH_CONFIG)
    )


def lesson_search_vector() -> SearchVector:
    return SearchVector("title", weight="A", config=SEARCH_CONFIG) + SearchVector(
        "body", weight="B", config=SEARCH_CONFIG
    )


def lesson_title_vector() -> SearchVector:
    return SearchVector("title", weight="A", config=SEARCH_CONFIG)


def _is_postgresql(queryset: QuerySet) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def _words(text: str) -> list[str]:
    return text.split()[:MAX_WORDS]


def _query(text: str) -> SearchQuery:
    return SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")


# --- Lessons a visitor may find -------------------------------------------------------------


def _visible_lessons(user: User | AnonymousUser) -> QuerySet[Lesson]:
    """Published lessons of listed courses, with `is_open` for this user; notes not loaded."""
    return (
        Lesson.objects.filter(is_published=True, course__status=Course.Status.PUBLISHED)
        .filter(lessons_shown_q(user=user))  # hidden lessons are never found by learners
        .defer("body")
        .annotate(is_open=ExpressionWrapper(lessons_open_q(user=user), BooleanField()))
    )


def _matching_lessons(user: User | AnonymousUser, text: str) -> QuerySet[Lesson]:
    """The lessons `text` finds for this user, each with its `rank` (higher is better)."""
    lessons = _visible_lessons(user)
    if _is_postgresql(lessons):
        query = _query(text)
        # Matching the whole vector first lets PostgreSQL use the lesson index; a locked
        # lesson must then match on its title alone.
        return (
            lessons.annotate(search=lesson_search_vector(), title_search=lesson_title_vector())
            .filter(search=query)
            .filter(Q(is_open=True) | Q(title_search=query))
            .annotate(
                rank=Case(
                    When(is_open=True, then=SearchRank(lesson_search_vector(), query)),
                    default=SearchRank(lesson_title_vector(), query),
                    output_field=FloatField(),
                )
            )
        )
    score = Value(0)
    for word in _words(text):
        in_title = Q(title__icontains=word)
        in_notes = Q(is_open=True, body__icontains=word)
        lessons = lessons.filter(in_title | in_notes)
        # A word in the title counts more than one in the notes, as weights A and B do.
        score = score + Case(
            When(in_title, then=Value(2)), default=Value(1), output_field=IntegerField()
        )
    return lessons.annotate(rank=ExpressionWrapper(score, output_field=FloatField()))


# --- Courses --------------------------------------------------------------------------------


def course_search(
    queryset: QuerySet, *, text: str, user: User | AnonymousUser | None = None
) -> QuerySet:
    """Courses matching `text` on their own text or through a lesson `user` may find; best
    matches first on PostgreSQL (a course's own rank plus its best lesson's)."""
    text = text.strip()
    if not text:
        return queryset
    lessons = _matching_lessons(user or AnonymousUser(), text)
    best_lesson = lessons.filter(course=OuterRef("pk")).order_by("-rank").values("rank")[:1]
    # Two IN lists rather than one OR over every course: each is answered from its index.
    through_lessons = Q(pk__in=lessons.values("course_id"))
    if _is_postgresql(queryset):
        query = _query(text)
        own = Course.objects.annotate(search=course_search_vector()).filter(search=query)
        return (
            queryset.filter(Q(pk__in=own.values("pk")) | through_lessons)
            .annotate(
                rank=SearchRank(course_search_vector(), query)
                + Coalesce(Subquery(best_lesson, output_field=FloatField()), Value(0.0))
            )
            .order_by("-rank", "-published_at", "title")
        )
    # Fallback (SQLite): every word in the title, subtitle or description, or a lesson found.
    own_text = Q()
    for word in _words(text):
        own_text &= (
            Q(title__icontains=word) | Q(subtitle__icontains=word) | Q(description__icontains=word)
        )
    return queryset.filter(own_text | through_lessons)


# --- The lessons under each course of a results page ----------------------------------------


@dataclass(frozen=True)
class LessonHit:
    """A lesson found by a search, as a result shows it. `snippet` is HTML (escaped, with
    <mark> around the matches), empty for a locked lesson."""

    id: UUID
    slug: str
    title: str
    kind: str
    section_title: str
    locked: bool
    snippet: SafeString
    url: str


@dataclass(frozen=True)
class CourseHits:
    lessons: list[LessonHit] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.lessons))


def lesson_hits_for(
    *, courses: list[Course], user: User | AnonymousUser, text: str
) -> dict[UUID, CourseHits]:
    """The best lessons `text` finds in each of `courses` (a page of results), with each
    course's total: one query, whatever the number of courses and lessons."""
    text = text.strip()
    if not text or not courses:
        return {}
    slugs = {course.pk: course.slug for course in courses}
    lessons = _matching_lessons(user, text).filter(course__in=list(slugs))
    postgresql = _is_postgresql(lessons)
    if postgresql:
        snippet = SearchHeadline(
            "body",
            _query(text),
            config=SEARCH_CONFIG,
            start_sel=_START,
            stop_sel=_STOP,
            max_words=28,
            min_words=12,
            max_fragments=2,
            fragment_delimiter=" … ",
        )
    else:
        snippet = F("body")  # cut in Python below
    rows = (
        lessons.annotate(
            **lesson_rule_flags(),
            # Only an open lesson's notes are read at all.
            snippet_source=Case(
                When(is_open=True, then=snippet), default=Value(""), output_field=TextField()
            ),
            position=Window(
                RowNumber(),
                partition_by=[F("course_id")],
                order_by=[F("rank").desc(), F("section__order").asc(), F("order").asc()],
            ),
            total=Window(Count("pk"), partition_by=[F("course_id")]),
        )
        .filter(position__lte=LESSONS_PER_COURSE)
        .order_by("course_id", "position")
        .values(
            "id",
            "slug",
            "title",
            "kind",
            "course_id",
            "section__title",
            "is_open",
            "snippet_source",
            "total",
            "section_id",
            "rules_course_plain",
        )
    )
    rows = _structure_locks_apply(list(rows), courses=courses, user=user)
    hits: dict[UUID, CourseHits] = {}
    for row in rows:
        course_hits = hits.setdefault(row["course_id"], CourseHits(total=row["total"]))
        course_hits.lessons.append(
            _hit(row, course_slug=slugs[row["course_id"]], postgresql=postgresql, text=text)
        )
    return hits


def _structure_locks_apply(
    rows: list[dict], *, courses: list[Course], user: User | AnonymousUser
) -> list[dict]:
    """Close the hits the course's structure rules lock for this user (`catalog.structure`:
    not a filter, as they depend on the learner's history): title only, no snippet. Only
    courses with rules and open hits are decided (their rules cached; the learner's facts
    when a rule depends on them)."""
    by_pk = {course.pk: course for course in courses}
    structures = {}
    for row in rows:
        if not row["is_open"] or row["rules_course_plain"]:
            continue
        course = by_pk[row["course_id"]]
        if course.pk not in structures:
            structures[course.pk] = structure_for(user=user, course=course)
        # Open by the tier (`is_open`); is it locked by the rules? (No query.)
        lesson = Lesson(id=row["id"], course_id=course.pk, section_id=row["section_id"])
        if structures[course.pk].lesson_lock(lesson) is not None:
            row["is_open"], row["snippet_source"] = False, ""
    return rows


def _hit(row: dict, *, course_slug: str, postgresql: bool, text: str) -> LessonHit:
    source = row["snippet_source"] or ""
    if not row["is_open"]:
        snippet = mark_safe("")
    elif postgresql:
        snippet = headline_html(source)
    else:
        snippet = snippet_html(source, text=text)
    return LessonHit(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        kind=row["kind"],
        section_title=row["section__title"],
        locked=not row["is_open"],
        snippet=snippet,
        url=reverse(
            "progress:lesson_detail",
            kwargs={"course_slug": course_slug, "lesson_slug": row["slug"]},
        ),
    )


# --- Snippets -------------------------------------------------------------------------------

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]*>")
_LINE_MARKS = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.M)
_INLINE_MARKS = re.compile(r"\*\*|__|~~|`+|\*")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" ([.,;:!?])")


def plain_text(markdown: str) -> str:
    """Notes without their Markdown and HTML: what a reader sees, roughly, on one line."""
    text = _LINK.sub(r"\1", markdown)
    text = _TAG.sub(" ", text)
    text = _LINE_MARKS.sub("", text)
    text = _INLINE_MARKS.sub("", text)
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(text.split()))


def headline_html(headline: str) -> SafeString:
    """PostgreSQL's headline as HTML: all escaped, then its match markers made <mark>."""
    text = html.escape(plain_text(headline.replace(_START, " \x02").replace(_STOP, "\x03 ")))
    text = re.sub(r"\x02\s*([^\x02\x03]*?)\s*\x03", r"<mark>\1</mark>", text)
    text = text.replace(_START, "").replace(_STOP, "")
    return mark_safe(" ".join(text.split()))  # noqa: S308 - escaped above; our <mark> only


def snippet_html(notes: str, *, text: str) -> SafeString:
    """The SQLite fallback's snippet: the notes around the first word found, escaped, each
    found word in <mark>."""
    plain = plain_text(notes)
    words = [word for word in _words(text) if word]
    if not plain or not words:
        return mark_safe("")
    pattern = re.compile("|".join(re.escape(word) for word in words), re.I)
    found = pattern.search(plain)
    start = max(0, (found.start() if found else 0) - SNIPPET_CHARS // 3)
    end = min(len(plain), start + SNIPPET_CHARS)
    # Whole words only at both ends.
    if start > 0:
        start = plain.find(" ", start) + 1 or start
    if end < len(plain):
        end = plain.rfind(" ", start, end) if plain.rfind(" ", start, end) > start else end
    window = plain[start:end]
    pieces, last = [], 0
    for match in pattern.finditer(window):
        pieces.append(html.escape(window[last : match.start()]))
        pieces.append(f"<mark>{html.escape(match.group())}</mark>")
        last = match.end()
    pieces.append(html.escape(window[last:]))
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(plain) else ""
    return mark_safe(prefix + "".join(pieces) + suffix)  # noqa: S308 - every piece escaped
