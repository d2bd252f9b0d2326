"""compose/production/docker-compose.yml read the way Docker Compose reads it.

There is no container engine here, so tests take what compose would hand each
container (merge keys resolved, `${VAR}` interpolated from the `.env` an operator
makes from env.example, `env_file` under `environment`) and run that here.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION = ROOT / "compose" / "production"
COMPOSE_FILE = PRODUCTION / "docker-compose.yml"
ENV_EXAMPLE = PRODUCTION / "env.example"

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, $NAME
_VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def env_example(**overrides: str) -> dict[str, str]:
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
                return argument
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
    """The file as written (merge keys resolved by the YAML loader), not interpolated."""
    compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return compose


def load(env: dict[str, str] | None = None) -> dict[str, Any]:
    compose: dict[str, Any] = _interpolate_tree(raw(), env if env is not None else env_example())
    return compose


def container_environment(compose: dict[str, Any], service: str, dotenv: dict[str, str]) -> dict[str, str]:
    """What the container's processes see: env_file first, `environment` over it."""
    definition = compose["services"][service]
    environment: dict[str, str] = {}
    if definition.get("env_file"):
        environment.update(dotenv)
    declared = definition.get("environment") or {}
    if isinstance(declared, list):
        declared = dict(item.split("=", 1) for item in declared)
    environment.update({key: "" if value is None else str(value) for key, value in declared.items()})
    return environment


def healthcheck_shell(definition: dict[str, Any]) -> str:
    """The health check as the shell command compose would run in the container."""
    test = definition["healthcheck"]["test"]
    if isinstance(test, str):
        return test
    kind, *args = test
    if kind == "CMD-SHELL":
        return str(args[0])
    assert kind == "CMD", test
    import shlex

    return shlex.join(args)
