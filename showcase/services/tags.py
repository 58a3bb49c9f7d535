"""Tags of the showcase: the list staff keep (the admin) and the demo seed's."""

from django.db import transaction
from django.utils.text import slugify

from showcase.models import Tag

# --- Tags ------------------------------------------------------------------------------------


@transaction.atomic
def tag_save(*, name: str, slug: str = "", tag: Tag | None = None) -> Tag:
    """Create a tag (or, given `tag`, rename it); the slug defaults to the name's."""
    tag = tag or Tag()
    tag.name = (name or "").strip()
    tag.slug = (slug or "").strip() or slugify(tag.name)[:50]
    tag.full_clean()
    tag.save()
    return tag


def tag_ensure(*, name: str, slug: str) -> Tag:
    """The tag with this slug, created when missing (the demo seed)."""
    existing = Tag.objects.filter(slug=slug).first()
    return existing or tag_save(name=name, slug=slug)
