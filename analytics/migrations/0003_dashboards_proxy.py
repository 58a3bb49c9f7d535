# The dashboards' entry in the admin: a proxy of the course (no table).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_rollups_daily"),
        ("catalog", "0008_lesson_search"),
    ]

    operations = [
        migrations.CreateModel(
            name="CourseDashboard",
            fields=[],
            options={
                "verbose_name": "course dashboard",
                "verbose_name_plural": "course dashboards",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("catalog.course",),
        ),
    ]
