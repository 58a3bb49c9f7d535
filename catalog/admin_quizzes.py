"""Quiz authoring in the admin. (Being written.)"""
