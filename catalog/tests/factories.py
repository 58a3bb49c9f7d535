import factory
from django.utils import timezone

from catalog.models import Course, Lesson, Section


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
