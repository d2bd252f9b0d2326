from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # Imported here: apps.api.errors imports the apps' models, which load after the registry.
        from apps.api.errors import error_page
        from photosite.errors import error_page_register

        error_page_register(path_prefix="/api/", page=error_page)
