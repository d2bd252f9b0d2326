"""`make stack`: compose/production/docker-compose.yml, run on this machine without Docker.

The stack reads the compose file (services, commands, environment, health checks,
depends_on conditions) and runs each service's process natively, from Debian packages
and PyPI (compose/local/native.py says how a container becomes a local process:
loopback ports for container names, local paths for volumes). Services are started in
compose's order; one waits for what it depends on to be healthy (or, for a one-shot,
to have exited 0) by running that service's own health check. The services that cannot
run here are listed, with the reason, in native.SKIPPED_BY_DESIGN; the stack refuses to
start if compose has a service it neither runs nor skips, so the two cannot drift.

The site answers on https://127.0.0.1:8443/ through nginx, with a self-signed
certificate where compose expects the operator's (the stack's `.env` is env.example
filled in, with that address as SITE_URL). State, logs and pids live under var/stack/;
`down` stops exactly the processes `up` recorded.

    python compose/local/stack.py up      [--dir var/stack] [--port 8443] [--no-seed]
    python compose/local/stack.py health  [--dir var/stack]   # every health check, as compose runs it
    python compose/local/stack.py down    [--dir var/stack]
    python compose/local/stack.py status  [--dir var/stack]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from compose.local import composefile, native  # noqa: E402
from compose.local.services import seaweedfs  # noqa: E402
from compose.local.services.net import free_ports  # noqa: E402
from compose.local.services.postgres_replica import as_postgres_user, run_checked  # noqa: E402

NGINX_TEMPLATE = ROOT / "compose" / "production" / "nginx" / "nginx.conf"
BUCKET = "photosite"
# Settings of our image's containers that describe the container itself, not the site:
# left out of record["env"], the environment for running manage.py against the stack.
CONTAINER_ONLY = {"GUNICORN_BIND", "GUNICORN_WORKERS", "PROMETHEUS_MULTIPROC_DIR", "MIGRATE_ON_START", "PATH"}
SEAWEED_LISTENERS = dict(zip(seaweedfs.LISTENERS, native.LISTENS["chrislusf/seaweedfs"], strict=True))


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2]))
    if not found:
        raise SystemExit("PostgreSQL server binaries are missing: apt-get install postgresql")
    return Path(found[-1])


def nginx_version() -> tuple[int, ...]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    found = re.search(r"nginx/([\d.]+)", subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr)
    return tuple(int(part) for part in found.group(1).split(".")) if found else (0,)


def render_nginx(*, listen: str, web: list[str], media: str, state: Path, api_rate: str = "") -> str:
    """The production nginx.conf with these loopback addresses (what `up` does for the
    nginx service, for callers that have only the addresses)."""
    loopback = native.Loopback(state=state)
    loopback.ports[("nginx", 80)] = int(listen.rsplit(":", 1)[1])
    for index, address in enumerate(web, start=1):
        loopback.ports[(f"web{index}", 8000)] = int(address.rsplit(":", 1)[1])
    loopback.ports[("seaweedfs", 8333)] = int(media.rsplit(":", 1)[1])
    paths = {"/var/cache/nginx": state / "nginx" / "cache", "/etc/nginx/tls": state / "nginx" / "tls"}
    return _nginx_conf(NGINX_TEMPLATE.read_text(), loopback=loopback, paths=paths, state=state, api_rate=api_rate)


def _nginx_conf(conf: str, *, loopback: native.Loopback, paths: dict[str, Path], state: Path, api_rate: str) -> str:
    conf = loopback.rewrite(conf, own="nginx")
    for target, local in paths.items():
        conf = conf.replace(f"{target}/", f"{local}/").replace(f"{target};", f"{local};")
    if api_rate:  # load tests from one address
        conf = conf.replace("zone=api:10m rate=20r/s", f"zone=api:10m rate={api_rate}")
    # The image's own paths (pid, temp files) become the stack's.
    (state / "nginx").mkdir(parents=True, exist_ok=True)
    prefix = [f"pid {state / 'nginx' / 'nginx.pid'};"]
    if os.geteuid() == 0:
        prefix.insert(0, "user root;")  # the cache and temp dirs belong to whoever runs the stack
    temp = "\n    ".join(
        f"{name}_temp_path {state / 'nginx' / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", f"http {{\n    {temp}\n", 1)
    return "\n".join(prefix) + "\n" + native.nginx_for_this_version(conf, nginx_version())


def _save(state: Path, record: dict[str, Any]) -> None:
    """Written after each step, so `down` can stop whatever a failed `up` had started."""
    (state / "stack.json").write_text(json.dumps(record, indent=2))


def _spawn(args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT) -> int:
    process = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    return process.pid


def _chown_to_postgres(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "postgres")


class Stack:
    """The compose services, as local processes, and what `down` needs to stop them."""

    def __init__(self, state: Path, *, port: int, http_port: int, api_rate: str, broker_url: str) -> None:
        self.state = state
        self.logs = state / "logs"
        self.api_rate = api_rate
        self.broker_url = broker_url
        self.site_url = f"https://127.0.0.1:{port}"
        self.dotenv = composefile.dotenv_from_example(SITE_URL=self.site_url, DJANGO_ALLOWED_HOSTS="127.0.0.1")
        self.image = composefile.app_image(native.APP_DOCKERFILE)
        self.services = composefile.services(composefile.load(self.dotenv), self.dotenv, self.image)
        self.order = composefile.start_order(self.services)
        self.loopback = native.Loopback(state=state)
        self.containers: dict[str, native.Container] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.healthy: set[str] = set()
        self.pg_bin = postgres_bin()
        self.record: dict[str, Any] = {
            "url": self.site_url,
            "logs": str(self.logs),
            "pids": {},
            "ports": {},
            "skipped": {},
            "healthchecks": {},
            "postgres": {"bin": str(self.pg_bin)},
        }
        unknown = [
            name
            for name in self.services
            if name not in native.SKIPPED_BY_DESIGN
            and native.image_name(self.services[name]) not in {*native.IMAGE_PROGRAMS, "app", "pgbouncer"}
        ]
        if unknown:
            raise SystemExit(
                f"compose has services the stack neither runs nor skips: {', '.join(unknown)}; "
                "add them to compose/local/native.py"
            )
        for name, service in self.services.items():
            if name in native.SKIPPED_BY_DESIGN:
                waiting = [other for other, s in self.services.items() if name in s.depends_on]
                runnable = [other for other in waiting if other not in native.SKIPPED_BY_DESIGN]
                if runnable:
                    raise SystemExit(f"{', '.join(runnable)} depend on {name}, which cannot run here")
                continue
            command = service.command(self.image if self.image.builds(service.definition) else None)
            kind = native.kind(service, command)
            for container_port in native.LISTENS.get(kind, []):
                self.loopback.ports[(name, container_port)] = 0
        allocated = iter(free_ports(len(self.loopback.ports)))
        for key in self.loopback.ports:
            self.loopback.ports[key] = next(allocated)
        self.loopback.ports[("nginx", 443)] = port
        self.loopback.ports[("nginx", 80)] = http_port or self.loopback.ports[("nginx", 80)]

    # --- one service ------------------------------------------------------------------

    def start(self, name: str) -> None:
        service = self.services[name]
        container = native.Container(service=service, loopback=self.loopback)
        native.mount(container, rendered=self.state / "mounts" / name)
        self.containers[name] = container
        command = service.command(self.image if self.image.builds(service.definition) else None)
        starter = {
            "postgres": self._postgres,
            "redis": self._redis,
            "chrislusf/seaweedfs": self._seaweedfs,
            "nginx": self._nginx,
            "prom/prometheus": self._prometheus,
            "prom/node-exporter": self._exporter,
            "oliver006/redis_exporter": self._exporter,
            "pgbouncer": self._pgbouncer,
        }.get(native.image_name(service), self._app)
        starter(name, container, command)
        self.record["ports"].update(
            {f"{name}:{cport}": port for (svc, cport), port in self.loopback.ports.items() if svc == name}
        )
        main_port = next((port for (svc, _), port in self.loopback.ports.items() if svc == name), None)
        if main_port:
            self.record["ports"].setdefault(name, main_port)
        check = service.healthcheck()
        if check:
            self.record["healthchecks"][name] = {
                "argv": native.healthcheck_for_here(
                    composefile.healthcheck_argv(check), container, pid=self.record["pids"].get(name)
                ),
                "env": self._check_environment(name, container),
            }
        _save(self.state, self.record)

    def _run(self, name: str, argv: list[str], env: dict[str, str], *, as_postgres: bool = False) -> None:
        log = self.logs / f"{name}.log"
        if as_postgres:
            argv = as_postgres_user(argv)
        self.record["pids"][name] = _spawn(argv, env=env, log=log)
        self.record.setdefault("argv", {})[name] = {"argv": argv, "env": env}
        _save(self.state, self.record)

    def _app(self, name: str, container: native.Container, command: list[str]) -> None:
        env = native.app_environment(container, self.state / "static")
        if self.broker_url:
            env["BROKER_URL"] = self.broker_url
        env_for_manage = {k: v for k, v in env.items() if k not in CONTAINER_ONLY}
        self.record.setdefault("env", env_for_manage)
        argv = [str(self.state / "bin" / command[0]), *command[1:]]
        if native.kind(container.service, command) == "app:start-web":
            env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(self.state / "tmp" / name / "prometheus-multiproc"))
        if container.service.one_shot:
            result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            (self.logs / f"{name}.log").write_text(result.stdout + result.stderr)
            if result.returncode != 0:
                raise RuntimeError(f"{name} exited {result.returncode}: {result.stderr[-2000:]}")
            self.record.setdefault("completed", []).append(name)
            return
        self._run(name, argv, env)

    def _postgres(self, name: str, container: native.Container, command: list[str]) -> None:
        """The postgres image: with its own entrypoint (the primary) initdb as the image does,
        its init scripts, then the server with compose's arguments; with ours (the
        replica), that script."""
        port = self.loopback.port(name, 5432)
        sockets = self.state / "sockets" / name
        sockets.mkdir(parents=True, exist_ok=True)
        _chown_to_postgres(sockets)
        here = ["-c", f"port={port}", "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}"]
        env = {
            **container.environment(),
            "PATH": f"{self.pg_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PGHOST": str(sockets),
            "PGPORT": str(port),
        }
        volume = container.paths.get("/var/lib/postgresql/data") or self.loopback.volume(f"{name}-data")
        _chown_to_postgres(volume)
        env.setdefault("PGDATA", str(volume))
        data = Path(env["PGDATA"])
        if "entrypoint" in container.service.definition:
            # The script's own knobs for what a container finds by name: the primary's host and port.
            primary = next(s for s, c in self.services[name].depends_on.items() if c == "service_healthy")
            env.update(PRIMARY_HOST="127.0.0.1", PGPORT=str(self.loopback.port(primary, 5432)))
            self._run(name, ["bash", *[container.map_path(arg) for arg in command], *here], env, as_postgres=True)
            self.record["postgres"]["replica"] = str(data)
            return
        self._postgres_initdb(name, container, data, env, here)
        server_args = command[1:] if command[:1] == ["postgres"] else command
        self._run(name, [str(self.pg_bin / "postgres"), "-D", str(data), *server_args, *here], env, as_postgres=True)
        self.record["postgres"]["primary"] = str(data)

    def _postgres_initdb(
        self, name: str, container: native.Container, data: Path, env: dict[str, str], here: list[str]
    ) -> None:
        """docker-entrypoint.sh's first start: initdb with POSTGRES_USER and its password,
        POSTGRES_DB, then each /docker-entrypoint-initdb.d script against a private server."""
        user, database = env.get("POSTGRES_USER", "postgres"), env.get("POSTGRES_DB", env.get("POSTGRES_USER"))
        password_file = self.state / "tmp" / name / "pwfile"
        password_file.write_text(env["POSTGRES_PASSWORD"])
        _chown_to_postgres(password_file, self.state / "tmp" / name)
        run_checked(
            as_postgres_user(
                [
                    str(self.pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    user,
                    f"--pwfile={password_file}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                ]
            )
        )
        password_file.unlink()
        # For a later `pg_ctl start` (bench/drills.py restarts servers): this machine's address.
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# make stack: this machine's address\n"
                f"port = {env['PGPORT']}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{env['PGHOST']}'\n"
            )
        log = self.logs / f"{name}-init.log"
        log.touch()
        _chown_to_postgres(log)
        options = f"-c listen_addresses='' -c unix_socket_directories={env['PGHOST']} -c port={env['PGPORT']}"
        pg_ctl = [str(self.pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
        run_checked(as_postgres_user([*pg_ctl, "-o", options, "start"]))
        try:
            if database and database != "postgres":
                run_checked(
                    as_postgres_user(
                        [
                            "env",
                            f"PGHOST={env['PGHOST']}",
                            f"PGPORT={env['PGPORT']}",
                            str(self.pg_bin / "createdb"),
                            "-U",
                            user,
                            database,
                        ]
                    )
                )
            scripts = sorted(
                (target, path)
                for target, path in container.paths.items()
                if target.startswith("/docker-entrypoint-initdb.d/")
            )
            for _, script in scripts:
                variables = [f"{key}={value}" for key, value in env.items()]
                run_checked(as_postgres_user(["env", *variables, "bash", str(script)]))
        finally:
            run_checked(as_postgres_user([*pg_ctl, "-m", "fast", "stop"]))

    def _pgbouncer(self, name: str, container: native.Container, command: list[str]) -> None:
        """Debian's pgbouncer, started by compose's own script with the rendered pgbouncer.ini."""
        _chown_to_postgres(container.paths["/tmp"])  # noqa: S108  (its /tmp, where the user list goes)
        env = {**container.environment(), "PATH": f"/usr/sbin:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        self._run(name, ["sh", *[container.map_path(arg) for arg in command]], env, as_postgres=True)

    def _redis(self, name: str, container: native.Container, command: list[str]) -> None:
        data = container.paths.get("/data") or self.loopback.volume(f"{name}-data")
        port = self.loopback.port(name, 6379)
        argv = [native.program("redis-server"), *command[1:], "--port", str(port), "--bind", "127.0.0.1"]
        self._run(name, [*argv, "--dir", str(data)], {**os.environ, **container.environment()})

    def _seaweedfs(self, name: str, container: native.Container, command: list[str]) -> None:
        ports = {listener: self.loopback.port(name, cport) for listener, cport in SEAWEED_LISTENERS.items()}
        arguments = [container.map_path(arg) for arg in command]
        self._run(name, [native.program("weed"), *arguments, *seaweedfs.loopback_arguments(ports)], dict(os.environ))

    def _nginx(self, name: str, container: native.Container, command: list[str]) -> None:
        tls = container.paths["/etc/nginx/tls"]
        native.tls_certificate(tls)
        self.record["certificate"] = str(tls / "fullchain.pem")
        conf = self.state / "nginx" / "nginx.conf"
        source = container.paths["/etc/nginx/nginx.conf"].read_text()  # rewritten by native.mount
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(_nginx_conf(source, loopback=self.loopback, paths={}, state=self.state, api_rate=self.api_rate))
        for tls_conf in tls.glob("*.conf"):
            tls_conf.write_text(native.nginx_for_this_version(tls_conf.read_text(), nginx_version()))
        nginx = native.program("nginx")
        subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(conf.parent)], check=True)
        self._run(name, [nginx, "-c", str(conf), "-p", str(conf.parent), "-g", "daemon off;"], dict(os.environ))

    def _prometheus(self, name: str, container: native.Container, command: list[str]) -> None:
        token = container.paths["/etc/prometheus/metrics_token"]
        token.parent.mkdir(parents=True, exist_ok=True)
        token.write_text(self.dotenv["METRICS_TOKEN"])  # as docs/DEPLOY.md has the operator write it
        argv = [
            native.program("prometheus"),
            f"--config.file={container.paths['/etc/prometheus/prometheus.yml']}",
            f"--storage.tsdb.path={container.paths['/prometheus']}",
            f"--web.listen-address=127.0.0.1:{self.loopback.port(name, 9090)}",
        ]
        self._run(name, argv, dict(os.environ))

    def _exporter(self, name: str, container: native.Container, command: list[str]) -> None:
        program = native.program(native.IMAGE_PROGRAMS[native.image_name(container.service)])
        container_port = native.LISTENS[native.image_name(container.service)][0]
        listen = f"127.0.0.1:{self.loopback.port(name, container_port)}"
        arguments = [container.map_path(arg) for arg in command]
        flag = "-web.listen-address" if "redis" in program else "--web.listen-address"
        self._run(name, [program, *arguments, f"{flag}={listen}"], {**os.environ, **container.environment()})

    def _check_environment(self, name: str, container: native.Container) -> dict[str, str]:
        """The container's environment, in which its health check runs, as seen from here."""
        env = container.environment()
        if native.image_name(container.service) == "app":
            env = native.app_environment(container, self.state / "static")
        if native.image_name(container.service) == "postgres":
            # Inside the container pg_isready finds the server at its default socket and port.
            env.update(PGHOST=str(self.state / "sockets" / name), PGPORT=str(self.loopback.port(name, 5432)))
        env.setdefault("PATH", f"{Path(sys.executable).parent}:{self.pg_bin}:{os.environ.get('PATH', '')}")
        return env

    # --- compose's conditions ---------------------------------------------------------

    def wait_healthy(self, name: str, *, timeout: float = 180) -> None:
        """Run the service's own health check until it passes (compose waits `interval`
        between tries; the stack tries every second, so `up` is quicker)."""
        if name in self.healthy:
            return
        check = self.record["healthchecks"][name]
        deadline = time.monotonic() + timeout
        while True:
            pid = self.record["pids"].get(name)
            if pid and not _alive(pid):
                raise RuntimeError(f"{name} exited; see {self.logs / (name + '.log')}")
            result = _run_healthcheck(check)
            if result.returncode == 0:
                self.healthy.add(name)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} is not healthy after {timeout} s: {result.stdout}{result.stderr}")
            time.sleep(1)

    def up(self) -> None:
        for name in self.order:
            if name in native.SKIPPED_BY_DESIGN:
                self.record["skipped"][name] = native.SKIPPED_BY_DESIGN[name]
                continue
            for target, condition in self.services[name].depends_on.items():
                if condition == "service_healthy":
                    self.wait_healthy(target)
                elif condition == "service_completed_successfully" and target not in self.record.get("completed", []):
                    raise RuntimeError(f"{name} waits for {target} to complete, which did not run")
            self.start(name)
        for name in self.record["healthchecks"]:  # `docker compose up --wait`
            self.wait_healthy(name)
        for name, service in self.services.items():
            if native.image_name(service) == "postgres" and "entrypoint" in service.definition:
                # Its copy of the primary's postgresql.conf names the primary's port: for a
                # later `pg_ctl start` (bench/drills.py), its own address goes last.
                with (Path(self.record["postgres"]["replica"]) / "postgresql.conf").open("a") as conf:
                    conf.write(
                        f"port = {self.loopback.port(name, 5432)}\n"
                        f"unix_socket_directories = '{self.state / 'sockets' / name}'\n"
                    )


def _run_healthcheck(check: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(check["argv"], env=check["env"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as error:
        return subprocess.CompletedProcess(check["argv"], 1, "", f"timed out: {error}")


def _collect_static(image: composefile.Image, state: Path) -> None:
    """What the image build does (collectstatic into STATIC_ROOT), once for all app services."""
    env = {
        **os.environ,
        **image.environment,
        "STATIC_ROOT": str(state / "static"),
        "DJANGO_SECRET_KEY": "build-only",
        "DATABASE_URL": "postgres://build@localhost/build",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def up(
    state: Path, *, port: int, seed: bool, api_rate: str = "", broker_url: str = "", http_port: int = 0
) -> dict[str, Any]:
    """Start the stack; `broker_url` (amqp://...) replaces the Redis broker, e.g. for RabbitMQ drills.

    The site is `record["url"]` (HTTPS, self-signed: `record["certificate"]`); requests in
    the calling process (bench/) trust that certificate afterwards (REQUESTS_CA_BUNDLE).
    """
    if (state / "stack.json").exists():
        raise SystemExit(f"a stack is already recorded in {state}; run `make stack-down` first")
    shutil.rmtree(state, ignore_errors=True)
    for name in ("logs", "nginx/cache", "volumes", "tmp"):
        (state / name).mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # the postgres user runs the clusters inside
    for path in (state, state / "volumes", state / "tmp", state / "logs"):
        path.chmod(0o755)
    stack = Stack(state, port=port, http_port=http_port, api_rate=api_rate, broker_url=broker_url)
    native.install_app_scripts(state)
    _save(state, stack.record)
    _collect_static(stack.image, state)
    stack.up()
    record = stack.record
    _save(state, record)
    _trust_in_this_process(Path(record["certificate"]), state)
    if seed:
        subprocess.run(
            [sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env={**os.environ, **record["env"]}, check=True
        )
    return record


def _trust_in_this_process(certificate: Path, state: Path) -> None:
    """Let requests in this process (bench/ calls `up` and then talks to the site) trust the
    stack's certificate, besides the CAs it trusted before."""
    import certifi

    bundle = state / "ca-bundle.pem"
    trusted = Path(os.environ.get("REQUESTS_CA_BUNDLE") or certifi.where())
    bundle.write_text(trusted.read_text() + "\n" + certificate.read_text())
    os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)


def redis_start(state: Path, port: int) -> int:
    """Start the stack's Redis again, as `up` started it (its port is `port`); returns its pid."""
    record = json.loads((state / "stack.json").read_text())
    started = record["argv"]["redis"]
    if str(port) not in started["argv"]:
        raise ValueError(f"the stack's Redis listens on {started['argv']}, not on {port}")
    pid = _spawn(started["argv"], env=started["env"], log=state / "logs" / "redis.log")
    deadline = time.monotonic() + 10
    check = record["healthchecks"]["redis"]
    while _run_healthcheck(check).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the stack's Redis did not come back")
        time.sleep(0.1)
    return pid


def health(state: Path) -> dict[str, tuple[bool, str]]:
    """Every service's health check, run once as compose runs it: name -> (passed, output)."""
    record = json.loads((state / "stack.json").read_text())
    results = {}
    for name, check in record["healthchecks"].items():
        result = _run_healthcheck(check)
        results[name] = (result.returncode == 0, (result.stdout + result.stderr).strip()[-300:])
    return results


def _alive(pid: int) -> bool:
    """Running, not merely a zombie: our children are re-parented when `up` exits, and an
    init that does not reap them leaves zombies that still answer kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def down(state: Path) -> list[str]:
    """Stop what `up` recorded, in reverse order; returns what was stopped."""
    path = state / "stack.json"
    if not path.exists():
        return []
    record = json.loads(path.read_text())
    stopped = []
    postgres = record.get("postgres", {})
    pids: dict[str, int] = record["pids"]
    for name in reversed(list(pids)):
        pid = pids[name]
        if not pid or not _alive(pid):
            continue
        if name == "nginx":
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)  # graceful: finish the requests in flight
        elif name in ("primary", "replica"):
            continue  # stopped by pg_ctl below, after everything that uses them
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)  # the whole group: gunicorn's and dramatiq's children too
        stopped.append(name)
    deadline = time.monotonic() + 15
    others = [pid for name, pid in pids.items() if pid and name not in ("primary", "replica")]
    while time.monotonic() < deadline and any(_alive(pid) for pid in others):
        time.sleep(0.2)
    for pid in others:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    for role in ("replica", "primary"):
        if role not in postgres:
            continue
        subprocess.run(
            as_postgres_user([str(Path(postgres["bin"]) / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", postgres[role]]),
            capture_output=True,
        )
        stopped.append(f"postgres {role}")
    for name in ("primary", "replica"):
        server = pids.get(name)
        deadline = time.monotonic() + 15
        while server and _alive(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        if server and _alive(server):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server, signal.SIGKILL)
    path.unlink()
    return stopped


def status(state: Path) -> dict[str, bool]:
    path = state / "stack.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    return {name: _alive(pid) for name, pid in record["pids"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "health"])
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "stack")
    parser.add_argument("--port", type=int, default=8443, help="the site's HTTPS port (compose: 443)")
    parser.add_argument("--http-port", type=int, default=0, help="plain HTTP, redirected by Django (compose: 80)")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--api-rate", default="", help="nginx's API limit per address, e.g. 10000r/s for load tests")
    args = parser.parse_args()
    state = args.dir.resolve()
    if args.command == "up":
        try:
            record = up(state, port=args.port, seed=not args.no_seed, api_rate=args.api_rate, http_port=args.http_port)
        except BaseException:
            print("the stack did not come up; stopping what started", file=sys.stderr)
            down(state)
            raise
        print(f"\n  photosite stack is running at {record['url']}/  (through nginx; self-signed certificate)")
        print(f"  logs: {record['logs']}/  (one file per compose service)")
        for name, reason in record["skipped"].items():
            print(f"  not run here: {name}: {reason.split(';')[0]}")
        print("  demo login: demo / photosite-demo;  stop it with: make stack-down\n")
    elif args.command == "down":
        stopped = down(state)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing (no stack recorded)"))
    elif args.command == "health":
        results = health(state)
        for name, (passed, output) in results.items():
            print(f"  {name:20} {'healthy' if passed else 'UNHEALTHY'}  {'' if passed else output}")
        record = json.loads((state / "stack.json").read_text())
        for name, reason in record["skipped"].items():
            print(f"  {name:20} skipped by design: {reason}")
        sys.exit(0 if all(passed for passed, _ in results.values()) else 1)
    else:
        for name, alive in status(state).items():
            print(f"  {name:20} {'up' if alive else 'DOWN'}")


if __name__ == "__main__":
    main()
