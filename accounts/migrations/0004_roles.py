"""The role groups, "Instructors" and "Staff", with their permissions (`accounts.roles`).

Runs `role_groups_sync`, which the `post_migrate` hook in `accounts.apps` runs again after
every migrate, so models added by later migrations join the Staff group too.
"""

from django.db import migrations

from accounts.roles import INSTRUCTORS_GROUP, STAFF_GROUP, role_groups_sync


def create_role_groups(apps, schema_editor):
    role_groups_sync(apps=apps, using=schema_editor.connection.alias)


def remove_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=[INSTRUCTORS_GROUP, STAFF_GROUP]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_avatar"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        # The instructors' permissions are on catalog models.
        ("catalog", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
