"""docker-compose.yml and .env.example stay complete as services and settings are added."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SERVICES_WITH_HEALTHCHECKS = ("web", "worker", "beat", "postgres", "redis", "minio", "mailpit")
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


@pytest.mark.parametrize("name", SERVICES_WITH_HEALTHCHECKS)
def test_every_long_running_service_has_a_healthcheck(compose, name):
    service = compose["services"][name]

    assert service["healthcheck"]["test"]


def test_databases_run_the_pinned_major_versions(compose):
    assert compose["services"]["postgres"]["image"] == "postgres:16"
    assert compose["services"]["redis"]["image"] == "redis:7"


def test_app_processes_start_after_migrations_and_healthy_services(compose):
    for name in ("web", "worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    assert "migrate" in compose["services"]["migrate"]["command"]


def test_the_media_bucket_is_created_by_a_one_shot_service(compose):
    init = compose["services"]["minio-init"]

    assert init["image"].startswith("minio/mc")
    assert init["depends_on"]["minio"] == {"condition": "service_healthy"}
    assert "mc mb --ignore-existing local/lms-media" in init["entrypoint"][-1]


def test_the_worker_consumes_every_queue(compose):
    command = compose["services"]["worker"]["command"]

    assert command[command.index("-Q") + 1] == "default,email,webhooks"


def test_stateful_services_keep_data_in_named_volumes(compose):
    for name in ("postgres", "redis", "minio", "mailpit"):
        for volume in compose["services"][name]["volumes"]:
            assert volume.split(":")[0] in compose["volumes"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_environment_is_documented_in_env_example(compose, documented, name):
    environment = compose["services"][name]["environment"]

    assert set(environment) - documented == set()


def test_every_setting_read_from_the_environment_is_documented(documented):
    # The settings may become a package split by integration; read all of it.
    files = [ROOT / "lms" / "settings.py", *(ROOT / "lms" / "settings").glob("*.py")]
    source = "\n".join(path.read_text() for path in files if path.is_file())
    read = set(re.findall(r"\benv(?:\.[a-z_]+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))

    assert read, "no env reads found: has the settings module moved?"
    assert read - documented == set()
