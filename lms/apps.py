from django.apps import AppConfig


class LmsConfig(AppConfig):
    name = "lms"
    verbose_name = "Platform"

    def ready(self) -> None:
        from lms import pagecache
        from lms.request_id import signals_connect

        # Request ids: cleared after each request; tasks queued in one log with its id.
        signals_connect()
        # Cached anonymous pages: what they show besides course content bumps their epochs.
        pagecache.receivers_connect()
