"""Full-text search index for lessons, on PostgreSQL only (see catalog.search).

An expression index (title A, notes B), no new column: `catalog.search.lesson_search_vector`
builds the same expression, so PostgreSQL uses it.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

from lms.migration_operations import AddIndexOnPostgres


def _vector(column: str, weight: str):
    return django.contrib.postgres.search.SearchVector(column, weight=weight, config="english")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_quiz_attempt_rules")]

    operations = [
        AddIndexOnPostgres(
            model_name="lesson",
            index=django.contrib.postgres.indexes.GinIndex(
                _vector("title", "A") + _vector("body", "B"), name="lesson_search_gin"
            ),
        ),
    ]
