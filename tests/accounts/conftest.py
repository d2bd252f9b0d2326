"""A real SMTP server (aiosmtpd) on a free port, and the site pointed at it."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from compose.local.services.net import free_port


class Mailbox:
    """What the SMTP server received, in order, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def wait_for(self, *, to: str, subject: str, timeout: float = 20) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for message in self.messages:
                    if to in str(message["To"]) and subject in str(message["Subject"]):
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} about {subject!r}; got {[m['Subject'] for m in self.messages]}")

    def sent_to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for message in self.messages if address in str(message["To"])]


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage) -> str:
    """The one link a mail asks its reader to follow (verification, reset), as a path."""
    (url,) = {match for match in re.findall(r"https?://\S+", body_of(message)) if "/accounts/" in match}
    return re.sub(r"^https?://[^/]+", "", url)


class SmtpServer:
    def __init__(self, controller: Controller, mailbox: Mailbox) -> None:
        self.controller, self.mailbox = controller, mailbox
        self.port = controller.port

    def env(self) -> dict[str, str]:
        """The variables a deployment sets to send through this server."""
        return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_USE_TLS": "false"}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield SmtpServer(controller, mailbox)
    controller.stop()


@pytest.fixture
def mail(smtp_server: SmtpServer, settings) -> Mailbox:
    """This process's mail goes over SMTP to the test server, as production's does."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_server.mailbox
