"""Mail when no SMTP server is configured (EMAIL_HOST unset): each message goes to the log.

In embedded mode the whole message is logged, so `make run` shows the verification and
reset links on the console. A server deployment without EMAIL_HOST logs a warning with the
recipients and subject only: its log is shipped and kept, and a reset link in it would be
a password for whoever reads the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("photosite.mail")


class LogEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            recipients = ", ".join(message.recipients())
            if settings.EMAIL_LOG_BODIES:
                logger.info("mail to %s: %s\n\n%s", recipients, message.subject, message.body)
            else:
                logger.warning("mail to %s not sent (EMAIL_HOST is not set): %s", recipients, message.subject)
        return len(email_messages)
