from django.apps import AppConfig


class LmsConfig(AppConfig):
    name = "lms"
    verbose_name = "Platform"

    def ready(self) -> None:
        from lms.request_id import celery_signals_connect

        # Tasks queued during a request log with its request id (web and worker processes).
        celery_signals_connect()
