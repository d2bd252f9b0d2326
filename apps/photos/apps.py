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

        # Imported here, not at the top: models may load only once the app registry is ready.
        from apps.photos.metrics import photo_metrics_collect
        from apps.photos.services import photo_requeue_unfinished
        from photosite.broker import embedded_worker_start_hook_register
        from photosite.metrics import business_collector_register

        business_collector_register(photo_metrics_collect)
        # After an embedded-mode restart, photos left processing get their jobs again.
        embedded_worker_start_hook_register(lambda started: photo_requeue_unfinished(before=started))
