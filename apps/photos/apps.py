from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "apps.photos"
    label = "photos"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image
        from pillow_heif import register_heif_opener

        register_heif_opener()  # HEIC/HEIF uploads (iPhone photos) open like any other format

        # Pillow's own bomb guard (a warning above this, an error at twice it) backs up
        # the explicit pixel check in check_image_upload.
        Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS
