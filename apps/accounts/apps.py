from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Imported here, not at the top: models may load only once the app registry is ready.
        from apps.accounts.metrics import user_metrics_collect
        from photosite.metrics import business_collector_register

        business_collector_register(user_metrics_collect)
