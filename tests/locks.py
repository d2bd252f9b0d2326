"""Two transactions racing for the same rows on real PostgreSQL, as a rendition job and a
request do."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import F

from apps.accounts.models import User
from apps.photos.models import Photo


def race_with_a_rendition_job(*, photo_id: int, owner_id: int, other: Callable[[], object]) -> list[BaseException]:
    """Run `other` while a transaction shaped like `rendition_make_all`'s holds the photo's row
    lock and then moves its owner's unfinished count; returns what either raised (PostgreSQL's
    "deadlock detected" when `other` takes the two locks in the opposite order)."""
    job_has_the_photo, other_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def rendition_job_like() -> None:
        try:
            with transaction.atomic():
                Photo.objects.select_for_update().get(pk=photo_id)
                job_has_the_photo.set()
                # `other` runs meanwhile and takes what locks it takes; it may be stuck behind ours.
                other_done.wait(timeout=2)
                User.objects.filter(pk=owner_id).update(unfinished_photo_count=F("unfinished_photo_count"))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def run_other() -> None:
        try:
            job_has_the_photo.wait(timeout=5)
            other()
        except BaseException as error:
            errors.append(error)
        finally:
            other_done.set()
            connection.close()

    threads = [threading.Thread(target=rendition_job_like), threading.Thread(target=run_other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors
