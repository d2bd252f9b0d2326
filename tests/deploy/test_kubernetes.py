"""compose/kubernetes: the production overlay renders, every object is valid for the
Kubernetes API, the pods are locked down and probed, and the environment the manifests
give the containers is the one photosite reads (no unknown variable, none missing), to the
point that `check --deploy` is clean with the web pods' own environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from compose.local import composefile
from tests.deploy import kubernetes
from tests.deploy.readenv import variables_photosite_reads

# The oldest Kubernetes still widely run, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
PHOTOSITE_IMAGE = "registry.example.org/photosite"
# Without these a production pod would start insecure or not at all (settings fail loudly
# without the secret key; the rest is what `check --deploy` and the topology need).
REQUIRED_EVERYWHERE = {
    "DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BROKER_URL", "S3_BUCKET", "LOG_FORMAT",
}  # fmt: skip
REQUIRED_ON_WEB = REQUIRED_EVERYWHERE | {
    "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS", "DJANGO_BEHIND_TLS_PROXY", "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SECURE_COOKIES", "DJANGO_HSTS_SECONDS", "METRICS_TOKEN", "GUNICORN_BIND", "PROMETHEUS_MULTIPROC_DIR",
    "NUM_PROXIES", "DATABASE_REPLICA_URLS",
}  # fmt: skip
# What compose sets that Kubernetes rightly does not: SeaweedFS's addresses (AWS S3 needs
# none), keys (the pods' IAM role may stand in), compose's way of migrating (a Job here),
# its nginx cache's purge address (CloudFront here).
COMPOSE_ONLY = {
    "S3_ENDPOINT_URL",
    "S3_PUBLIC_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "MIGRATE_ON_START",
    "MIGRATE_DATABASE_URL",
    "MEDIA_PURGE_NGINX_URLS",
}


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return kubernetes.render(tmp_path_factory.mktemp("kustomize"))


def photosite_containers(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{workload}/{container['name']}": container
        for workload, pod in kubernetes.pod_templates(objects).items()
        for container in pod["containers"]
        if container["image"].startswith(PHOTOSITE_IMAGE)
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_the_kubernetes_api(objects: list[dict[str, Any]], version: str) -> None:
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"} <= kinds
    assert {"ConfigMap", "Secret"} <= kinds
    for obj in objects:
        # strict: an unknown field (a typo, a misplaced key) is an error, not silently dropped.
        kubernetes_validate.validate(obj, version, strict=True)


def test_workloads_run_as_non_root_on_a_read_only_root_with_requests_and_limits(objects: list[dict[str, Any]]) -> None:
    for workload, pod in kubernetes.pod_templates(objects).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, workload
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", workload
        assert pod.get("automountServiceAccountToken") is False, workload
        mounts_by_volume = {volume["name"]: volume for volume in pod.get("volumes", [])}
        for container in pod["containers"]:
            where = f"{workload}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"], where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{where} {kind}"
            mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
            assert "emptyDir" in mounts_by_volume[mounts["/tmp"]], f"{where}: /tmp must be writable"  # noqa: S108
            multiproc = kubernetes.container_environment(objects, container).get("PROMETHEUS_MULTIPROC_DIR")
            if multiproc:
                assert "emptyDir" in mounts_by_volume[mounts[multiproc]], f"{where}: metrics dir must be writable"


def test_web_is_probed_scaled_kept_available_exposed_and_scraped(objects: list[dict[str, Any]]) -> None:
    deployment = kubernetes.by_kind(objects, "Deployment")["web"]
    labels = deployment["spec"]["selector"]["matchLabels"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert kubernetes.container_environment(objects, container)["GUNICORN_BIND"] == f"0.0.0.0:{port}"
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"
    assert "replicas" not in deployment["spec"], "the autoscaler owns the web replica count"

    autoscaler = kubernetes.by_kind(objects, "HorizontalPodAutoscaler")["web"]
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "web" and autoscaler["spec"]["minReplicas"] >= 2
    budget = kubernetes.by_kind(objects, "PodDisruptionBudget")["web"]
    assert budget["spec"]["selector"]["matchLabels"] == labels
    service = kubernetes.by_kind(objects, "Service")["web"]
    assert service["spec"]["selector"] == labels
    ingress = kubernetes.by_kind(objects, "Ingress")["web"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "web" and backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    config = kubernetes.container_environment(objects, container)
    assert config["DJANGO_ALLOWED_HOSTS"] == f"{ingress['spec']['rules'][0]['host']},10.0.0.7", "one host name"


def test_a_worker_pool_per_queue_one_scheduler_a_migrations_job_and_pgbouncer(objects: list[dict[str, Any]]) -> None:
    deployments = kubernetes.by_kind(objects, "Deployment")
    queues = {}
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        if container.get("args", [None])[0] == "start-worker":
            args = container["args"]
            queues[name] = args[args.index("--queues") + 1 :]
    assert queues == {"worker-renditions": ["renditions", "default"], "worker-maintenance": ["maintenance"]}

    scheduler = deployments["scheduler"]["spec"]
    assert scheduler["replicas"] == 1 and scheduler["strategy"]["type"] == "Recreate"
    assert scheduler["template"]["spec"]["containers"][0]["args"] == ["start-scheduler"]

    (job,) = kubernetes.by_kind(objects, "Job").values()
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert "manage.py migrate" in " ".join(migrate["args"])
    assert kubernetes.container_environment(objects, migrate)["DATABASE_URL"].endswith(":5432/photosite")

    # The web pods reach PostgreSQL through PgBouncer, in transaction mode.
    web = kubernetes.container_environment(objects, deployments["web"]["spec"]["template"]["spec"]["containers"][0])
    assert "@pgbouncer:6432/" in web["DATABASE_URL"]
    assert all("@pgbouncer:6432/" in url for url in web["DATABASE_REPLICA_URLS"].split(","))
    assert web["DATABASE_DISABLE_SERVER_SIDE_CURSORS"] == "true"
    pool_config = next(iter(o for o in objects if o["metadata"]["name"].startswith("pgbouncer-config")))
    assert "pool_mode = transaction" in pool_config["data"]["pgbouncer.ini"]


def test_every_variable_set_is_one_photosite_reads_and_none_it_needs_is_missing(objects: list[dict[str, Any]]) -> None:
    reads = variables_photosite_reads()
    dotenv = composefile.dotenv_from_example()
    compose_web = set(composefile.compose_environment(composefile.load(dotenv)["services"]["web1"], dotenv)) & reads
    for where, container in photosite_containers(objects).items():
        environment = set(kubernetes.container_environment(objects, container))
        unknown = environment - reads - kubernetes.expansion_only_variables(container)
        assert not unknown, f"{where} sets variables photosite never reads: {sorted(unknown)}"
        required = REQUIRED_ON_WEB if where.startswith("web/") else REQUIRED_EVERYWHERE
        assert required <= environment, f"{where} lacks {sorted(required - environment)}"
        if where.startswith("web/"):
            missing = compose_web - COMPOSE_ONLY - environment
            assert not missing, f"compose's web containers set {sorted(missing)}, Kubernetes's do not"


@pytest.mark.django_db
def test_check_deploy_is_clean_with_the_web_pods_environment(objects: list[dict[str, Any]], tmp_path: Path) -> None:
    from tests.conftest import subprocess_env_for_test_database

    deployment = kubernetes.by_kind(objects, "Deployment")["web"]
    pod_environment = kubernetes.container_environment(objects, deployment["spec"]["template"]["spec"]["containers"][0])
    # This run's own database, Redis and broker in place of the managed services' addresses.
    services = {"DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "BROKER_URL"}
    environment = {
        **subprocess_env_for_test_database(),
        **{name: value for name, value in pod_environment.items() if name not in services},
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=kubernetes.ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "no issues (0 silenced)" in result.stdout, result.stdout + result.stderr
