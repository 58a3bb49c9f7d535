"""The staff authoring API under /api/v1/manage/: the admin's powers for scripts and apps,
through the same services, permissions and audit."""
