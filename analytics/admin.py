"""Analytics in the admin. The event store (read only) is here; the dashboards are in
`admin_dashboards` and the learners' data exports in `admin_exports`."""
