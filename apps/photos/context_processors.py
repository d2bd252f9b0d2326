from django.conf import settings
from django.http import HttpRequest


def upload_limits(request: HttpRequest) -> dict[str, object]:
    return {
        "upload_max_bytes": settings.PHOTO_MAX_UPLOAD_BYTES,
        "upload_max_megapixels": f"{settings.PHOTO_MAX_PIXELS / 1_000_000:g}",
        "upload_direct_to_storage": settings.S3_SETTINGS is not None,
    }
