"""compose/production/docker-compose.yml read the way Docker Compose reads it, for `make stack`.

What compose hands each container: merge keys resolved, `${VAR}` interpolated from a
`.env`, `env_file` under `environment`, the image's own ENTRYPOINT, CMD and ENV when the
service is built from our Dockerfile, and the order `depends_on` imposes with its
conditions. The stack (compose/local/stack.py) runs exactly that, natively.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = ROOT / "compose" / "production"
COMPOSE_FILE = PRODUCTION / "docker-compose.yml"
ENV_EXAMPLE = PRODUCTION / "env.example"

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, $NAME
_VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def dotenv_from_example(**overrides: str) -> dict[str, str]:
    """env.example as an operator fills it in: every empty secret gets a random value."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name] = value
    for name, value in values.items():
        if not value and name != "SENTRY_DSN":  # Sentry stays optional
            values[name] = secrets.token_urlsafe(40)
    return {**values, **overrides}


def interpolate(text: str, env: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        dollar, name, operator, argument, bare = match.groups()
        if dollar:
            return "$"
        name = name or bare
        value = env.get(name)
        if operator in (":-", "-"):
            if value is None or (operator == ":-" and value == ""):
                return str(argument)
        elif operator in (":?", "?"):
            if value is None or (operator == ":?" and value == ""):
                raise KeyError(f"{name} must be set: {argument}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def raw() -> dict[str, Any]:
    """The file as written, merge keys resolved (by the YAML loader), nothing interpolated."""
    compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return compose


def load(env: dict[str, str]) -> dict[str, Any]:
    """The file with merge keys resolved (by the YAML loader) and variables interpolated."""
    compose: dict[str, Any] = _interpolate_tree(raw(), env)
    return compose


@dataclass(frozen=True)
class Image:
    """What our Dockerfile bakes into the app image: ENTRYPOINT, CMD and ENV."""

    entrypoint: list[str]
    command: list[str]
    environment: dict[str, str]
    dockerfile: Path

    def builds(self, definition: dict[str, Any]) -> bool:
        """Whether a service's `build` is this image (and not another built here)."""
        build = definition.get("build")
        if not build:
            return False
        context = COMPOSE_FILE.parent / str(build.get("context", "."))
        return (context / str(build.get("dockerfile", "Dockerfile"))).resolve() == self.dockerfile.resolve()


def app_image(dockerfile: Path) -> Image:
    """The final stage's ENTRYPOINT, CMD (exec form) and ENV (`NAME=value ...` form)."""
    final = dockerfile.read_text().replace("\\\n", " ").split("\nFROM ")[-1]
    entrypoint: list[str] = []
    command: list[str] = []
    environment: dict[str, str] = {}
    for line in final.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif instruction == "CMD":
            command = json.loads(rest)
        elif instruction == "ENV":
            environment.update(dict(item.split("=", 1) for item in shlex.split(rest)))
    return Image(entrypoint=entrypoint, command=command, environment=environment, dockerfile=dockerfile)


@dataclass
class Service:
    """One compose service as its container would see it."""

    name: str
    definition: dict[str, Any]
    environment: dict[str, str]
    depends_on: dict[str, str] = field(default_factory=dict)  # service -> condition

    @property
    def image(self) -> str:
        return str(self.definition.get("image", ""))

    @property
    def built_here(self) -> bool:
        return "build" in self.definition

    @property
    def one_shot(self) -> bool:
        return self.definition.get("restart") == "no"

    def command(self, image: Image | None = None) -> list[str]:
        """The container's argv: entrypoint then command, each from compose or else the image."""
        entrypoint = _as_list(self.definition.get("entrypoint"))
        command = _as_list(self.definition.get("command"))
        if image is not None:
            entrypoint = entrypoint if "entrypoint" in self.definition else image.entrypoint
            command = command if "command" in self.definition else image.command
        return [*entrypoint, *command]

    def healthcheck(self) -> dict[str, Any] | None:
        check = self.definition.get("healthcheck")
        if not check or check.get("disable") or not check.get("test"):
            return None
        return dict(check)

    def volume_sources(self) -> dict[str, str]:
        """Container path -> source (a bind mount's path relative to compose/production, or a volume's name)."""
        mounts: dict[str, str] = {}
        for volume in self.definition.get("volumes", []):
            source, target, *_ = str(volume).split(":")
            mounts[target] = source
        return mounts


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(item) for item in value]


def compose_environment(definition: dict[str, Any], dotenv: dict[str, str]) -> dict[str, str]:
    """What compose sets in a service's container: `env_file` first, `environment` over it
    (without the image's own ENV, which `services` adds underneath)."""
    environment: dict[str, str] = {}
    if definition.get("env_file"):
        environment.update(dotenv)
    declared = definition.get("environment") or {}
    if isinstance(declared, list):
        declared = dict(item.split("=", 1) for item in declared)
    environment.update({key: "" if value is None else str(value) for key, value in declared.items()})
    return environment


def services(compose: dict[str, Any], dotenv: dict[str, str], image: Image) -> dict[str, Service]:
    found: dict[str, Service] = {}
    for name, definition in compose["services"].items():
        environment: dict[str, str] = {}
        if image.builds(definition):
            environment.update(image.environment)
        environment.update(compose_environment(definition, dotenv))
        depends_on = definition.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        conditions = {target: (rule or {}).get("condition", "service_started") for target, rule in depends_on.items()}
        found[name] = Service(name=name, definition=definition, environment=environment, depends_on=conditions)
    return found


def start_order(found: dict[str, Service]) -> list[str]:
    """Every service after those it depends on (compose's order), ties in file order."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ValueError(f"depends_on has a cycle through {name}")
        visiting.add(name)
        for target in found[name].depends_on:
            visit(target)
        visiting.discard(name)
        order.append(name)

    for name in found:
        visit(name)
    return order


def healthcheck_argv(check: dict[str, Any]) -> list[str]:
    """The health check as the argv compose runs in the container (CMD-SHELL under `sh -c`)."""
    test = check["test"]
    if isinstance(test, str):
        return ["sh", "-c", test]
    kind, *args = test
    if kind == "CMD-SHELL":
        return ["sh", "-c", str(args[0])]
    if kind != "CMD":
        raise ValueError(f"unknown health check form {test!r}")
    return [str(arg) for arg in args]


def duration_seconds(value: str | None, default: float) -> float:
    """Compose durations: 10s, 1m30s, 500ms."""
    if not value:
        return default
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    return sum(float(number) * units[unit] for number, unit in re.findall(r"([\d.]+)(ms|us|h|m|s)", value))
