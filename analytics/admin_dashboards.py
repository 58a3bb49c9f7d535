"""The analytics dashboards in the admin (filled in by its slice)."""
