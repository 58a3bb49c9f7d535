"""The offline bundles' tables (imported by `catalog.models`, so they belong to `catalog`)."""
