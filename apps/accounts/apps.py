from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Imported here, not at the top: models may load only once the app registry is ready.
        from apps.accounts.metrics import user_metrics_collect
        from photosite.metrics import business_collector_register

        business_collector_register(user_metrics_collect)

        # The admin's own login form would skip the throttle and the second factor: it sends
        # people to ours (allauth's), then back to the admin.
        from allauth.account.decorators import secure_admin_login
        from django.contrib import admin

        admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign,no-untyped-call]
