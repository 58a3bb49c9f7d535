"""Projects in the admin: authoring, review of learners' submissions, restore."""
