"""Full-text search index for the catalog, on PostgreSQL only (see catalog.search)."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

from lms.migration_operations import AddIndexOnPostgres


def _vector(column: str, weight: str):
    return django.contrib.postgres.search.SearchVector(column, weight=weight, config="english")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        AddIndexOnPostgres(
            model_name="course",
            index=django.contrib.postgres.indexes.GinIndex(
                _vector("title", "A") + _vector("subtitle", "B") + _vector("description", "C"),
                name="course_search_gin",
            ),
        ),
    ]
