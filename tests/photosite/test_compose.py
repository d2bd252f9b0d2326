"""compose/ cannot run here (no Docker engine), so check what can be checked: the file
against the Compose Specification, its references, nginx -t on the edge config, and the
parts that run without Docker run here as compose would run them: the web health check
against gunicorn with the web container's environment, the PostgreSQL init and replica
scripts building a real hot standby, the bucket one-shot against a real S3 server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = ROOT / "compose" / "production"


def test_every_compose_service_has_a_health_check_and_its_files_exist() -> None:
    compose = yaml.safe_load((PRODUCTION / "docker-compose.yml").read_text())
    services = compose["services"]
    expected = {"primary", "replica", "redis", "seaweedfs", "nginx", "web1", "web2", "worker1", "worker2"}
    assert expected | {"elasticsearch", "kibana", "filebeat", "prometheus"} <= set(services)
    for name, service in services.items():
        if service.get("restart") == "no":  # a one-shot: finishing is its health
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (PRODUCTION / source).exists() or source.endswith("metrics_token"), f"{name}: {source}"
    assert services["web1"]["environment"]["MIGRATE_ON_START"] == "1"
    assert "MIGRATE_ON_START" not in services["web2"].get("environment", {})


def test_renditions_and_maintenance_have_worker_pools_of_their_own() -> None:
    """A backlog of maintenance (bulk re-renders, cleanup) never delays an upload's renditions."""
    services = yaml.safe_load((PRODUCTION / "docker-compose.yml").read_text())["services"]
    pools: dict[str, list[str]] = {}
    for name, service in services.items():
        command = service.get("command") or []
        if command[:1] == ["start-worker"]:
            pools[name] = command[command.index("--queues") + 1 :]
    assert {name for name, queues in pools.items() if "renditions" in queues} >= {"worker1", "worker2"}
    maintenance = [name for name, queues in pools.items() if "maintenance" in queues]
    assert maintenance and all(pools[name] == ["maintenance"] for name in maintenance)


def test_dockerfile_is_multi_stage_non_root_and_collects_static() -> None:
    dockerfile = (PRODUCTION / "django" / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2 and "USER photosite" in dockerfile
    assert "collectstatic" in dockerfile and "HEALTHCHECK" in dockerfile


def test_start_scripts_parse() -> None:
    for script in ("entrypoint", "start-web", "start-worker"):
        subprocess.run(["bash", "-n", str(PRODUCTION / "django" / script)], check=True)
    for script in ("primary-init.sh", "replica-entrypoint.sh"):
        subprocess.run(["bash", "-n", str(PRODUCTION / "postgres" / script)], check=True)


def test_nginx_accepts_the_edge_config(tmp_path: Path) -> None:
    """The same file both ways: compose's service names swapped for loopback, as make stack does."""
    from compose.local import stack

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is missing: make test installs Debian's nginx-light"
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx" / "cache").mkdir(parents=True)
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.write_text(
        stack.render_nginx(
            listen="127.0.0.1:1", web=["127.0.0.1:2", "127.0.0.1:3"], media="127.0.0.1:4", state=tmp_path
        )
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path / "nginx")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_entrypoint_waits_for_the_database_then_runs_the_command() -> None:
    """Run by hand, as the container would: with a reachable DATABASE_URL it execs its arguments."""
    import os

    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    }
    result = subprocess.run(
        [str(PRODUCTION / "django" / "entrypoint"), "echo", "started"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and result.stdout.strip() == "started", result.stderr


# --- The file, as compose reads it ----------------------------------------------------

from compose.local import composefile  # noqa: E402


def test_compose_file_follows_the_compose_specification() -> None:
    """check-jsonschema ships the Compose Specification's schema (no network needed)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(composefile.COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dependency_exists_and_its_condition_can_be_met() -> None:
    """service_healthy needs a health check, service_completed_successfully a one-shot."""
    services = composefile.load(composefile.dotenv_from_example())["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        for target, rule in depends_on.items() if isinstance(depends_on, dict) else []:
            assert target in services, f"{name} depends on unknown {target}"
            condition = (rule or {}).get("condition", "service_started")
            if condition == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), f"{name} waits for {target}'s health"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is no one-shot, {name} would wait forever"


def test_web_containers_listen_where_nginx_connects_and_add_up_their_metrics() -> None:
    compose = composefile.load(composefile.dotenv_from_example())
    upstream = (composefile.PRODUCTION / "nginx" / "nginx.conf").read_text()
    for name in ("web1", "web2"):
        environment = compose["services"][name]["environment"]
        host, _, port = environment["GUNICORN_BIND"].rpartition(":")
        assert host == "0.0.0.0", f"{name} binds {host}: nginx, in another container, could not connect"  # noqa: S104
        assert f"server {name}:{port} " in upstream
        if int(environment.get("GUNICORN_WORKERS", "2")) > 1:
            assert environment.get("PROMETHEUS_MULTIPROC_DIR"), f"{name}'s /metrics would show one worker's figures"
    prometheus = yaml.safe_load((composefile.PRODUCTION / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
    assert {"web1:8000", "web2:8000"} <= targets


def test_replica_runs_with_the_primarys_connection_limit() -> None:
    """A hot standby refuses to start with a lower max_connections than its primary."""

    def setting(command: list[str], name: str) -> str:
        values = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"{name}=")]
        assert values, f"{name} is not set in {command}"
        return values[-1]

    for env in (composefile.dotenv_from_example(), composefile.dotenv_from_example(POSTGRES_MAX_CONNECTIONS="500")):
        services = composefile.load(env)["services"]
        primary, replica = services["primary"]["command"], services["replica"]["command"]
        assert setting(primary, "max_connections") == setting(replica, "max_connections")
    assert setting(services["primary"]["command"], "max_slot_wal_keep_size"), "a lost replica could fill the disk"


def test_browser_facing_s3_address_is_the_site_not_a_container_name() -> None:
    env = composefile.dotenv_from_example()
    web = composefile.compose_environment(composefile.load(env)["services"]["web1"], env)
    assert web["S3_ENDPOINT_URL"] == "http://seaweedfs:8333"  # servers: the internal name
    assert web["S3_PUBLIC_ENDPOINT_URL"] == env["SITE_URL"]  # browsers: the site, where nginx passes /photosite/
    conf = (composefile.PRODUCTION / "nginx" / "nginx.conf").read_text()
    for location in ("location = /photosite ", "location /photosite/private/", "location /photosite/public/"):
        assert location in conf


# --- What runs without Docker, run as compose would run it ------------------------------


def _start_gunicorn(environment: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "photosite/gunicorn.conf.py"],
        cwd=ROOT,
        env={**environment, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_web_health_check_passes_with_the_web_containers_environment(transactional_db, tmp_path: Path) -> None:
    """compose's own health check command, against gunicorn started with web1's environment
    (its services swapped for this run's): Django must accept the Host it sends, and must
    answer it, not redirect it to HTTPS."""
    import os
    import time

    import requests

    from compose.local.services.net import free_port
    from tests.conftest import subprocess_env_for_test_database

    dotenv = composefile.dotenv_from_example()
    compose = composefile.load(dotenv)
    container = composefile.compose_environment(compose["services"]["web1"], dotenv)
    services = {"DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "BROKER_URL", "MEDIA_CDN_URL"}
    services |= {name for name in container if name.startswith("S3_")}
    environment = {
        **subprocess_env_for_test_database(),
        **{name: value for name, value in container.items() if name not in services},
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    port = free_port()
    server = _start_gunicorn(environment, port, tmp_path / "gunicorn.log")
    site_host = dotenv["DJANGO_ALLOWED_HOSTS"].split(",")[0]
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": site_host}, timeout=2)
                break
            except requests.RequestException:  # not listening yet, or workers still booting
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        argv = composefile.healthcheck_argv(compose["services"]["web1"]["healthcheck"])
        argv = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in argv]
        check = subprocess.run(argv, env={**os.environ, **container}, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert answer.status_code == 200, "the probe was redirected or refused"
        # As Prometheus scrapes it: by service name, with the bearer token, over plain HTTP.
        scrape = requests.get(
            f"http://127.0.0.1:{port}/metrics",
            headers={"Host": "web1:8000", "Authorization": f"Bearer {container['METRICS_TOKEN']}"},
            timeout=10,
            allow_redirects=False,
        )
        assert scrape.status_code == 200 and b"django_http_requests" in scrape.content
        # Anyone else is sent to HTTPS with HSTS, and a made-up Host is refused.
        page = requests.get(f"http://127.0.0.1:{port}/", headers={"Host": site_host}, timeout=10, allow_redirects=False)
        assert page.status_code == 301 and page.headers["Location"] == f"https://{site_host}/"
        secure = requests.get(
            f"http://127.0.0.1:{port}/",
            headers={"Host": site_host, "X-Forwarded-Proto": "https"},
            timeout=10,
            allow_redirects=False,
        )
        assert "max-age=" in secure.headers["Strict-Transport-Security"]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 400
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_postgres_scripts_build_a_streaming_hot_standby_with_a_slot() -> None:
    """primary-init.sh and replica-entrypoint.sh run as the postgres:15 image runs them
    (POSTGRES_USER=photosite, so no `postgres` role exists), with compose's own server
    arguments, on throwaway clusters here."""
    import glob
    import os
    import shutil
    import tempfile
    import time

    import psycopg

    from compose.local.services.net import free_ports
    from compose.local.services.postgres_replica import as_postgres_user

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2]))
    assert bins, "PostgreSQL server binaries are missing: make test installs Debian's postgresql"
    bin_dir = bins[-1]
    env_values = composefile.dotenv_from_example()
    services = composefile.load(env_values)["services"]
    base = Path(tempfile.mkdtemp(prefix="photosite-compose-pg-"))
    os.chmod(base, 0o755)  # noqa: S103  (the postgres user runs the clusters inside)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary_data, replica_data, sockets = base / "primary", base / "replica", base / "sockets"
    primary_port, replica_port = free_ports(2)
    password = env_values["REPLICATION_PASSWORD"]
    path = f"{bin_dir}:{os.environ['PATH']}"
    processes: list[subprocess.Popen[bytes]] = []

    def run(args: list[str], **env: str) -> None:
        result = subprocess.run(
            as_postgres_user(["env", *[f"{k}={v}" for k, v in env.items()], *args]), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def connect(port: int, user: str = "photosite", dbname: str = "photosite") -> psycopg.Connection:
        deadline = time.monotonic() + 30
        while True:
            try:
                return psycopg.connect(host=str(sockets), port=port, user=user, dbname=dbname, autocommit=True)
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, (base / "replica.log").read_text(errors="replace")
                time.sleep(0.3)

    try:
        run(["mkdir", "-p", str(sockets)])
        run(
            [
                f"{bin_dir}/initdb",
                "-D",
                str(primary_data),
                "-U",
                "photosite",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            PATH=path,
        )
        server_args = [arg for arg in services["primary"]["command"] if arg != "postgres"]
        local = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}"]
        primary = subprocess.Popen(
            as_postgres_user(
                [f"{bin_dir}/postgres", "-D", str(primary_data), *server_args, "-c", f"port={primary_port}", *local]
            ),
            stdout=(base / "primary.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        processes.append(primary)
        connect(primary_port, dbname="postgres").execute("CREATE DATABASE photosite")
        init = {
            "POSTGRES_USER": "photosite",
            "POSTGRES_DB": "photosite",
            "REPLICATION_PASSWORD": password,
            "STATEMENT_TIMEOUT_MS": services["primary"]["environment"]["STATEMENT_TIMEOUT_MS"],
            "PGDATA": str(primary_data),
        }
        run(
            ["bash", str(PRODUCTION / "postgres" / "primary-init.sh")],
            PATH=path,
            PGHOST=str(sockets),
            PGPORT=str(primary_port),
            **init,
        )
        connect(primary_port).execute("SELECT pg_reload_conf()")  # the image restarts after its init scripts

        replica_args = services["replica"]["command"]
        replica = subprocess.Popen(
            as_postgres_user(
                [
                    "env",
                    f"PATH={path}",
                    f"PGDATA={replica_data}",
                    f"PGPASSWORD={password}",
                    "PRIMARY_HOST=127.0.0.1",
                    f"PGPORT={primary_port}",
                    "bash",
                    str(PRODUCTION / "postgres" / "replica-entrypoint.sh"),
                    *replica_args,
                    "-c",
                    f"port={replica_port}",
                    *local,
                ]
            ),
            stdout=(base / "replica.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        processes.append(replica)
        with connect(replica_port) as standby:
            assert standby.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            standby_connections = standby.execute("SHOW max_connections").fetchone()
        with connect(primary_port) as db:
            assert db.execute("SHOW max_connections").fetchone() == standby_connections
            db.execute("CREATE TABLE shipped (id int)")
            deadline = time.monotonic() + 20
            while db.execute("SELECT active FROM pg_replication_slots WHERE slot_name = 'replica1'").fetchone() != (
                True,
            ):
                assert time.monotonic() < deadline, "the replica does not stream through its slot"
                time.sleep(0.3)
        with connect(replica_port) as standby:
            deadline = time.monotonic() + 20
            while standby.execute("SELECT to_regclass('shipped') IS NOT NULL").fetchone() != (True,):
                assert time.monotonic() < deadline, "the replica does not replay the primary's writes"
                time.sleep(0.3)
        # The site role's own statement timeout, for connections that arrive through PgBouncer
        # without the app's option: on the primary, and replicated to the replica.
        for port in (primary_port, replica_port):
            with connect(port) as session:
                assert session.execute("SHOW statement_timeout").fetchone() == ("10s",)
    finally:
        for process in reversed(processes):
            process.terminate()  # SIGTERM: postgres's smart shutdown (no clients left)
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(base, ignore_errors=True)


def test_storage_one_shot_creates_the_bucket_then_applies_its_policy() -> None:
    """compose's storage-init service, run here against this run's S3 server, twice."""
    import json
    import os
    import uuid

    from tests.conftest import _s3

    bucket = f"compose-init-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "S3_BUCKET": bucket, "DJANGO_SECRET_KEY": "test", "PYTHONPATH": str(ROOT)}
    client = _s3()
    try:
        for _ in range(2):  # a restart of the one-shot finds the bucket and changes nothing
            result = subprocess.run(
                ["bash", str(PRODUCTION / "django" / "storage-init")],
                cwd=ROOT,
                env={**env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stdout + result.stderr
        client.head_bucket(Bucket=bucket)
        policy = json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
        public = f"arn:aws:s3:::{bucket}/public/*"
        assert policy["Statement"][0]["Resource"] in (public, [public])  # SeaweedFS drops a one-item list
    finally:
        client.delete_bucket(Bucket=bucket)


def test_signed_urls_and_upload_posts_name_the_public_endpoint() -> None:
    """In compose S3_ENDPOINT_URL is a container name no browser can resolve: what browsers
    follow names the public address, what the servers do stays on the internal one."""
    import os

    script = (
        "from django.core.files.storage import default_storage;"
        "from photosite.storage import media_url, presigned_upload;"
        "print(media_url('private/originals/x.jpg'));"
        "print(presigned_upload('private/incoming/x', max_bytes=10)['url']);"
        "print(media_url('public/renditions/x.jpg'));"
        "print(default_storage.connection.meta.client.meta.endpoint_url)"
    )
    env = {
        **{name: value for name, value in os.environ.items() if name != "MEDIA_CDN_URL"},
        "DJANGO_SECRET_KEY": "test",
        "S3_PUBLIC_ENDPOINT_URL": "https://photos.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    signed_get, upload_post, public_get, internal = result.stdout.split()
    assert signed_get.startswith("https://photos.example.org/") and "Signature=" in signed_get
    assert upload_post.startswith("https://photos.example.org/")
    assert public_get.startswith("https://photos.example.org/") and "Signature=" not in public_get  # no CDN
    assert internal == os.environ["S3_ENDPOINT_URL"]  # reads and writes stay on the servers' address
