"""docker-compose.yml and .env.example stay complete as services and settings are added."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SERVICES_WITH_HEALTHCHECKS = (
    "proxy",
    "web",
    "asgi",
    "worker",
    "beat",
    "postgres",
    "redis",
    "minio",
    "mailpit",
)
APP_SERVICES = ("migrate", "web", "asgi", "worker", "beat")


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
    for name in ("web", "asgi", "worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    assert "migrate" in compose["services"]["migrate"]["command"]


def test_websockets_go_through_the_proxy_to_the_asgi_server_and_the_rest_to_gunicorn(compose):
    proxy = compose["services"]["proxy"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    websocket_block = conf[conf.index("location /ws/") : conf.index("location / {")]

    assert proxy["ports"] == ["8000:80"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    assert "proxy_pass http://lms_asgi;" in websocket_block
    assert "proxy_set_header Upgrade $http_upgrade;" in websocket_block
    assert "proxy_set_header Connection $connection_upgrade;" in websocket_block
    assert "server asgi:8001;" in conf and "server web:8000;" in conf
    assert compose["services"]["asgi"]["command"][:2] == ["uvicorn", "lms.asgi:application"]
    assert "--port=8001" in compose["services"]["asgi"]["command"]


def test_web_asgi_and_workers_share_one_redis_channel_layer(compose):
    environment = compose["x-app"]["environment"]

    assert environment["CHANNEL_LAYER_URL"].startswith("redis://redis:6379/")
    for name in ("web", "asgi", "worker"):
        assert (
            compose["services"][name]["environment"]["CHANNEL_LAYER_URL"]
            == (environment["CHANNEL_LAYER_URL"])
        )


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
