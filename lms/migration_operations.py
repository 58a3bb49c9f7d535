"""Migration operations shared by the apps."""

from django.db import migrations


class AddIndexOnPostgres(migrations.AddIndex):
    """An index that exists only on PostgreSQL (a GIN full-text index, say).

    SQLite cannot build it, so the operation does nothing there, and it stays out of the
    model state so the autodetector never asks to remove it.
    """

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = to_state.apps.get_model(app_label, self.model_name)
            if self.allow_migrate_model(schema_editor.connection.alias, model):
                schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = from_state.apps.get_model(app_label, self.model_name)
            if self.allow_migrate_model(schema_editor.connection.alias, model):
                schema_editor.remove_index(model, self.index)

    def describe(self):
        return f"{super().describe()} (PostgreSQL only)"
