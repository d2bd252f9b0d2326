"""`manage.py rundramatiq`: django_dramatiq's command, with every line JSON under LOG_FORMAT=json.

django_dramatiq's command prints its banner (the task modules it found, the dramatiq
command line) straight to stdout, and execs the dramatiq CLI, whose main process never
loads Django and logs in its own plain format. Filebeat would ship each of those lines
as a record of its own. Here the banner goes through logging, and the CLI's main
process starts with the same ECS logging as everything else
(photosite.requestlog.dramatiq_main). The console format keeps django_dramatiq's
behaviour untouched.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from typing import Any, TextIO, cast

from django.conf import settings
from django.core.management.base import OutputWrapper
from django_dramatiq.management.commands.rundramatiq import Command as DramatiqCommand

logger = logging.getLogger("photosite.worker")


class _LinesToLog(io.TextIOBase):
    """A stream whose lines become INFO records (the command's banner)."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                logger.info(line.strip(" *"))
        return len(text)


class Command(DramatiqCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        if settings.LOG_FORMAT != "json" or options["use_gevent"] or sys.platform == "win32":
            super().handle(*args, **options)  # type: ignore[no-untyped-call]  # django_dramatiq is untyped
            return
        self.stdout = OutputWrapper(cast(TextIO, _LinesToLog()))
        dramatiq_args = self._dramatiq_arguments(**options)
        logger.info("running dramatiq %s", " ".join(dramatiq_args))
        launcher = f"from photosite.requestlog import dramatiq_main; dramatiq_main(level={settings.LOG_LEVEL!r})"
        sys.stdout.flush()
        sys.stderr.flush()
        # Replaces this process, as django_dramatiq's command does (there with the dramatiq script).
        os.execv(sys.executable, [sys.executable, "-c", launcher, *dramatiq_args])  # noqa: S606  (no shell)

    def _dramatiq_arguments(self, **options: Any) -> list[str]:
        """The dramatiq command line django_dramatiq's handle() builds, without the program name."""
        arguments = [
            "--path",
            *options["path"],
            "--processes",
            str(options["processes"]),
            "--threads",
            str(options["threads"]),
            "--worker-shutdown-timeout",
            str(options["worker_shutdown_timeout"]),
        ]
        if options["watch_dir"]:
            arguments += ["--watch", options["watch_dir"]]
            if options["use_polling_watcher"]:
                arguments.append("--watch-use-polling")
        for function in options["forks"]:
            arguments += ["--fork-function", function]
        arguments += ["-v"] * (options["verbosity"] - 1)
        arguments += self.discover_tasks_modules()  # type: ignore[no-untyped-call]  # django_dramatiq is untyped
        if options["queues"]:
            arguments += ["--queues", *options["queues"]]
        if options["pid_file"]:
            arguments += ["--pid-file", options["pid_file"]]
        if options["log_file"]:
            arguments += ["--log-file", options["log_file"]]
        if options["skip_logging"]:
            arguments.append("--skip-logging")
        if options["use_spawn"]:
            arguments.append("--use-spawn")
        return arguments
