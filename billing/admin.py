from django.contrib import admin

from billing.models import Tier


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("name", "rank", "slug", "description")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
