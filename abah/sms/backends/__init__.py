"""Gateway backends, shaped like Django's e-mail backends; ``get_backend(name)`` builds the configured one."""

from django.utils.module_loading import import_string

from abah.sms.conf import gateway_config


def get_backend(name: str = "default", **overrides):
    config = gateway_config(name)
    options = {**config.get("OPTIONS", {}), **overrides}
    return import_string(config["BACKEND"])(name=name, **options)
