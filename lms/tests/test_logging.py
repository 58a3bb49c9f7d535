"""Log format: one JSON object per line in production, readable lines in development.

Settings are read once per process, so each case runs `manage.py shell` in a fresh one.
"""

import json
import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(48),
    "ALLOWED_HOSTS": "lms.example.com",
}
# Logs a line, a failure with its traceback, and says how request ids are trusted.
SCRIPT = """
import logging
from django.conf import settings
log = logging.getLogger("lms.check")
log.warning("ready", extra={"course": "salsa"})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("failed")
print("TRUST", settings.LMS_TRUST_REQUEST_ID)
"""


def _run(**env: str) -> subprocess.CompletedProcess:
    cleared = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "LOG_FORMAT", "NUM_PROXIES")
    environment = {k: v for k, v in os.environ.items() if k not in cleared}
    environment.pop("LMS_TRUST_REQUEST_ID", None)
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "shell", "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_logs_one_json_object_per_line():
    result = _run(**PRODUCTION)

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    ready, failed = (line for line in lines if line["logger"] == "lms.check")
    assert {key: ready[key] for key in ("level", "logger", "message", "request_id", "course")} == {
        "level": "WARNING",
        "logger": "lms.check",
        "message": "ready",
        "request_id": "-",
        "course": "salsa",
    }
    assert ready["time"].endswith("+00:00")
    assert failed["message"] == "failed"
    assert failed["exception"].splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert "TRUST False" in result.stdout


def test_development_logs_readable_lines_and_json_on_request():
    plain = _run()
    as_json = _run(LOG_FORMAT="json")

    assert plain.returncode == 0, plain.stderr
    assert " WARNING lms.check [-] ready" in plain.stderr
    assert json.loads(as_json.stderr.splitlines()[0])["message"] == "ready"


def test_behind_a_proxy_its_request_ids_are_trusted_and_an_unknown_format_is_refused():
    behind_proxy = _run(**PRODUCTION, NUM_PROXIES="1")
    overridden = _run(**PRODUCTION, NUM_PROXIES="1", LMS_TRUST_REQUEST_ID="false")
    unknown = _run(LOG_FORMAT="xml")

    assert "TRUST True" in behind_proxy.stdout
    assert "TRUST False" in overridden.stdout
    assert unknown.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json'." in unknown.stderr
