"""The operators' bulk commands, against SeaweedFS and the Redis broker."""

from __future__ import annotations

import io

from django.core.management import call_command

from apps.photos import services
from apps.photos.models import PhotoStatus
from tests.factories import uploaded_photo


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_sweep_reports_then_removes_orphans_and_mends_rows(
    user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    photo = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=photo.pk)
    orphan = "public/renditions/00000000-dead-beef-0000-000000000000/abc-v2-320.jpg"
    bucket.client.put_object(Bucket=bucket.name, Key=orphan, Body=b"left behind by a job that never ran")
    old_avatar, avatar = "public/avatars/replaced.webp", "public/avatars/current.webp"
    for key in (old_avatar, avatar):
        bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"a picture")
    user.avatar_key = avatar
    user.save(update_fields=["avatar_key"])
    lost = photo.renditions.get(size=640, format="avif")
    bucket.client.delete_object(Bucket=bucket.name, Key=lost.file.name)

    report = run("storage_sweep", "--grace-minutes", "0")
    assert "Orphaned objects (no row): 2" in report and orphan in report and old_avatar in report
    assert "Renditions whose file is missing: 1" in report
    assert orphan in bucket.keys()  # a report changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        run("storage_sweep", "--grace-minutes", "0", "--delete")
    assert orphan not in bucket.keys() and old_avatar not in bucket.keys()
    assert avatar in bucket.keys()  # someone's current picture is not an orphan
    assert photo.original.name in bucket.keys()  # nothing that belongs to a photo is touched
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.PROCESSING and not photo.renditions.filter(pk=lost.pk).exists()
    (message,) = broker_redis.hgetall("dramatiq:renditions.msgs").values()
    assert '"actor_name":"make_renditions"' in message.decode()


def test_sweep_leaves_young_objects_alone(user, bucket) -> None:
    bucket.client.put_object(Bucket=bucket.name, Key="private/originals/in-flight.jpg", Body=b"an upload committing")
    report = run("storage_sweep", "--delete")  # default grace: an hour
    assert "Orphaned objects (no row): 0" in report
    assert "private/originals/in-flight.jpg" in bucket.keys()


def test_sweep_streams_the_bucket_in_windows_and_touches_only_orphans(
    user, bucket, broker_redis, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    """One photo and two objects per window, one key per listing page: every boundary of
    the merge is crossed, with orphans before, between, right beside and after the photos."""
    from apps.photos.management.commands import storage_sweep

    monkeypatch.setattr(storage_sweep, "PHOTO_WINDOW", 1)
    monkeypatch.setattr(storage_sweep, "PAGE", 1)
    photos = sorted(
        (uploaded_photo(owner=user, title=f"Photo {index}") for index in range(3)), key=lambda p: str(p.key)
    )
    for photo in photos:
        services.rendition_make_all(photo_id=photo.pk)
    live = set(bucket.keys())
    middle = str(photos[1].key)
    orphans = [
        "private/originals/00000000-0000-0000-0000-000000000000.jpg",  # before every photo
        f"private/originals/{middle[:-1]}{'0' if middle[-1] != '0' else '1'}.png",  # a near neighbour's
        f"public/renditions/{middle}-old/x-v1-320.jpg",  # sorts just before the photo's own folder
        f"public/renditions/{middle}/{photos[1].original_sha256[:16]}-v1-320.jpg",  # an older pipeline's
        "public/renditions/ffffffff-ffff-ffff-ffff-ffffffffffff/y.webp",  # after every photo
        "private/incoming/abandoned-upload",
    ]
    for key in orphans:
        bucket.client.put_object(Bucket=bucket.name, Key=key, Body=b"no row names this")
    lost = photos[2].renditions.get(size=320, format="avif")
    bucket.client.delete_object(Bucket=bucket.name, Key=lost.file.name)

    report = run("storage_sweep", "--grace-minutes", "0")
    assert f"Orphaned objects (no row): {len(orphans)}" in report
    assert all(key in report for key in orphans)
    assert "Renditions whose file is missing: 1" in report and "Photos whose original is missing: 0" in report

    with django_capture_on_commit_callbacks(execute=True):
        run("storage_sweep", "--grace-minutes", "0", "--delete")
    assert set(bucket.keys()) == live - {lost.file.name}  # every orphan gone, every live object kept
    assert not photos[2].renditions.filter(pk=lost.pk).exists()


def test_storage_init_has_s3_expire_abandoned_uploads_and_keeps_other_rules(bucket) -> None:
    operator_rule = {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    bucket.client.put_bucket_lifecycle_configuration(
        Bucket=bucket.name, LifecycleConfiguration={"Rules": [operator_rule]}
    )
    try:
        output = run("storage_init")
        run("storage_init")  # twice: the same rules, not two of each
        rules = bucket.client.get_bucket_lifecycle_configuration(Bucket=bucket.name)["Rules"]
    finally:
        bucket.client.delete_bucket_lifecycle(Bucket=bucket.name)
    by_id = {rule["ID"]: rule for rule in rules}
    assert len(rules) == 3 and by_id["logs"] == operator_rule
    incoming = by_id["photosite-expire-private-incoming"]
    assert incoming["Filter"] == {"Prefix": "private/incoming/"} and incoming["Expiration"] == {"Days": 1}
    assert by_id["photosite-abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "under 'private/incoming/': objects expire after 1 day(s) (Enabled)" in output


def test_rebuild_makes_missing_renditions(user, bucket, broker_redis) -> None:
    photo = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=photo.pk)
    photo.renditions.filter(format="avif").delete()  # as if AVIF had been added to the pipeline since
    assert "1 photo(s) need renditions." in run("renditions_rebuild", "--dry-run")
    run("renditions_rebuild", "--inline")
    assert photo.renditions.filter(format="avif").count() == 4  # every size
    assert "0 photo(s) need renditions." in run("renditions_rebuild", "--dry-run")


def test_rebuild_queues_jobs_for_the_workers_and_leaves_the_photos_ready(
    user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    photo = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=photo.pk)
    photo.renditions.filter(size=2048).delete()
    broker_redis.flushdb()
    with django_capture_on_commit_callbacks(execute=True):
        run("renditions_rebuild", "--no-wait")
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.READY  # in place: still on the site with what it has
    (message,) = broker_redis.hgetall("dramatiq:maintenance.msgs").values()  # never ahead of new uploads
    assert f'"args":[{photo.pk}]' in message.decode()


def test_a_rebuild_run_again_after_a_stop_continues_with_the_photos_left(user, bucket, broker_redis) -> None:
    photos = [uploaded_photo(owner=user, title=f"Photo {index}") for index in range(3)]
    for photo in photos:
        services.rendition_make_all(photo_id=photo.pk)
        photo.renditions.filter(format="avif").delete()  # as if AVIF had been added to the pipeline since
    services.rendition_make_all(photo_id=photos[0].pk)  # the run that stopped got this far
    before = set(photos[0].renditions.values_list("pk", flat=True))
    assert "2 photo(s) need renditions." in run("renditions_rebuild", "--dry-run")
    output = run("renditions_rebuild", "--inline", "--batch-size", "1")
    assert "2 photo(s) need renditions." in output
    assert set(photos[0].renditions.values_list("pk", flat=True)) == before  # not rendered again
    assert all(photo.renditions.filter(format="avif").count() == 4 for photo in photos)  # every size
    assert "0 photo(s) need renditions." in run("renditions_rebuild", "--dry-run", "--start-after", "0")
    last = max(photo.pk for photo in photos)
    assert "looking at 0 photo(s)" in run("renditions_rebuild", "--dry-run", "--start-after", str(last))


def test_seed_demo_adds_a_staff_account_also_to_an_earlier_demo(db) -> None:
    from apps.accounts.models import User
    from apps.photos.management.commands.seed_demo import DEMO_PASSWORD
    from tests.factories import UserFactory

    UserFactory(username="demo")  # a demo seeded before there was a staff account
    output = run("seed_demo")
    assert "Created the staff account operator" in output and "Demo content already present." in output
    operator = User.objects.get(username="operator")
    assert operator.is_staff and operator.is_superuser and operator.check_password(DEMO_PASSWORD)
    assert "Created" not in run("seed_demo")  # once
    assert User.objects.filter(is_staff=True).count() == 1
