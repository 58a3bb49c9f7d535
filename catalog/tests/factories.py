from typing import Any

import factory
from django.utils import timezone

from catalog.models import Choice, Course, Lesson, Question, Quiz, Section


class CourseFactory(factory.django.DjangoModelFactory):
    """A published, public course unless told otherwise."""

    class Meta:
        model = Course
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    subtitle = "Learn step by step"
    description = "A course about **things**."
    status = Course.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    visibility = Course.Visibility.PUBLIC

    class Params:
        draft = factory.Trait(status=Course.Status.DRAFT, published_at=None)

    @factory.post_generation
    def instructors(self, create, extracted, **kwargs):
        if create and extracted:
            self.instructors.set(extracted)


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Section {n}")
    order = factory.Sequence(lambda n: n)


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    section = factory.SubFactory(SectionFactory)
    course = factory.SelfAttribute("section.course")
    title = factory.Sequence(lambda n: f"Lesson {n}")
    slug = factory.Sequence(lambda n: f"lesson-{n}")
    kind = Lesson.Kind.TEXT
    body = "Step one: *listen* to the beat."
    duration_seconds = 300
    order = factory.Sequence(lambda n: n)


def course_with_lessons(lesson_count: int, *, sections: int = 1, **course_kwargs) -> Course:
    """A course with `lesson_count` lessons spread evenly over `sections` sections."""
    course = CourseFactory(**course_kwargs)
    section_list = [
        SectionFactory(course=course, order=index, title=f"Part {index + 1}")
        for index in range(sections)
    ]
    lessons = [
        Lesson(
            course=course,
            section=section_list[index % sections],
            title=f"Lesson {index + 1}",
            slug=f"lesson-{index + 1}",
            body=f"Notes for lesson {index + 1}.",
            duration_seconds=60 * (index % 10 + 1),
            order=index // sections,
        )
        for index in range(lesson_count)
    ]
    Lesson.objects.bulk_create(lessons)
    return course


class QuizFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quiz

    lesson = factory.SubFactory(LessonFactory, kind=Lesson.Kind.QUIZ)
    pass_mark = 70


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    quiz = factory.SubFactory(QuizFactory)
    kind = Question.Kind.SINGLE
    prompt = factory.Sequence(lambda n: f"Question {n}?")
    explanation = "Because the beat says so."
    order = factory.Sequence(lambda n: n)


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    text = factory.Sequence(lambda n: f"Choice {n}")
    is_correct = False
    order = factory.Sequence(lambda n: n)


def quiz_with_questions(*, lesson: Lesson | None = None, pass_mark: int = 70, **rules: Any) -> Quiz:
    """A quiz with three questions: single choice (right: "Four"), multiple choice (right:
    "Left" and "Right"), short answer (accepted: "eight" or "8"). `rules`: max_attempts,
    retry_wait_minutes, reveal_answers (the model's defaults otherwise)."""
    quiz = (
        QuizFactory(lesson=lesson, pass_mark=pass_mark, **rules)
        if lesson
        else QuizFactory(pass_mark=pass_mark, **rules)
    )
    single = QuestionFactory(
        quiz=quiz, kind=Question.Kind.SINGLE, prompt="Beats in a bar?", order=1
    )
    for order, (text, right) in enumerate((("Three", False), ("Four", True), ("Five", False))):
        ChoiceFactory(question=single, text=text, is_correct=right, order=order)
    multiple = QuestionFactory(
        quiz=quiz, kind=Question.Kind.MULTIPLE, prompt="Which are directions?", order=2
    )
    for order, (text, right) in enumerate((("Left", True), ("Right", True), ("Blue", False))):
        ChoiceFactory(question=multiple, text=text, is_correct=right, order=order)
    QuestionFactory(
        quiz=quiz,
        kind=Question.Kind.SHORT,
        prompt="Counts in a dance phrase?",
        accepted_answers="eight\n8",
        order=3,
    )
    return quiz
