from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.Model):
    """An access level. Paid courses require a tier; plans (billing issue) grant one.

    Tiers are compared by `rank`: a learner with rank 2 may open courses requiring 1 or 2.
    """

    name = models.CharField(_("name"), max_length=60, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("Higher ranks include everything lower ranks open.")
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["rank"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self) -> str:
        return self.name
