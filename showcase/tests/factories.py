import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.tests.factories import UserFactory
from showcase.models import Project, ProjectLink, Tag


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class ProjectFactory(factory.django.DjangoModelFactory):
    """An approved, public learner project unless told otherwise (no course)."""

    class Meta:
        model = Project
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    summary = "Something made in a course."
    detail = "Built with **care**."
    origin = Project.Origin.LEARNER
    author = factory.SubFactory(UserFactory)
    status = Project.Status.APPROVED
    reviewed_at = factory.LazyFunction(timezone.now)
    published_at = factory.LazyFunction(timezone.now)

    class Params:
        submitted = factory.Trait(
            status=Project.Status.SUBMITTED, reviewed_at=None, published_at=None
        )
        draft = factory.Trait(status=Project.Status.DRAFT, reviewed_at=None, published_at=None)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


class ProjectLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectLink

    project = factory.SubFactory(ProjectFactory)
    label = "Code"
    url = "https://example.com/code"
    order = factory.Sequence(lambda n: n)


def picture(
    width: int = 800, height: int = 450, image_format: str = "PNG", name: str = "picture.png"
) -> SimpleUploadedFile:
    """An uploaded picture of this size and format."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 120)).save(buffer, format=image_format)
    content_type = f"image/{image_format.lower()}"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)
