from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # Imported here, as Django asks of an AppConfig module: it loads before the registry is ready.
        from apps.api.error_pages import error_page
        from photosite.errors import error_page_register

        error_page_register(path_prefix="/api/", page=error_page)
