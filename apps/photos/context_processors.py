from django.conf import settings
from django.http import HttpRequest


def upload_limits(request: HttpRequest) -> dict[str, object]:
    return {
        "upload_max_mb": settings.PHOTO_MAX_UPLOAD_BYTES // (1024 * 1024),
        "upload_max_megapixels": settings.PHOTO_MAX_PIXELS // 1_000_000,
    }
