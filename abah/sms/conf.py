"""SMS Center settings with their defaults (config/settings.py may override any of them)."""

import json
import os
from dataclasses import dataclass
from datetime import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_GATEWAYS = {
    "default": {
        "BACKEND": "abah.sms.backends.simulator.SimulatorBackend",
        "OPTIONS": {
            # Delivery reports arrive after a random delay in this range (seconds), like a real SMSC.
            "dlr_delay": [0.5, 2.0],
            # Numbers ending in these digits, or listed exactly, "exist" but never receive: the DLR fails.
            "dead_suffixes": ["0000"],
            "dead_numbers": [],
            # Accept at most this many submits per second (0: no limit); the rest get a temporary error.
            "throttle_per_second": 0,
            # Artificial latency per submitted batch (seconds), to simulate a slow link.
            "submit_delay": 0,
        },
    }
}


def _json_env(name: str):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"the environment variable {name} is not valid JSON: {error}") from error


def gateways() -> dict:
    """The configured gateways: settings.SMS_GATEWAYS, else the SMS_GATEWAYS environment variable (JSON of
    the same shape), else the simulator. SMS_GATEWAY_BACKEND / SMS_GATEWAY_OPTIONS (JSON) override "default"."""
    configured = getattr(settings, "SMS_GATEWAYS", None) or _json_env("SMS_GATEWAYS") or DEFAULT_GATEWAYS
    result = {name: {"BACKEND": cfg["BACKEND"], "OPTIONS": dict(cfg.get("OPTIONS", {}))} for name, cfg in configured.items()}
    backend = os.environ.get("SMS_GATEWAY_BACKEND", "").strip()
    if backend:
        if "." not in backend:  # short names: simulator, locmem
            backend = {
                "simulator": "abah.sms.backends.simulator.SimulatorBackend",
                "locmem": "abah.sms.backends.locmem.LocmemBackend",
            }.get(backend, backend)
        if backend != result.get("default", {}).get("BACKEND"):
            result["default"] = {"BACKEND": backend, "OPTIONS": {}}
    extra = _json_env("SMS_GATEWAY_OPTIONS")
    if extra:
        result.setdefault("default", {"BACKEND": DEFAULT_GATEWAYS["default"]["BACKEND"], "OPTIONS": {}})
        result["default"]["OPTIONS"].update(extra)
    return result


def default_gateway() -> str:
    """The gateway named "default", or else the first one configured."""
    names = list(gateways())
    return "default" if "default" in names else names[0]


def gateway_config(name: str = "default") -> dict:
    configured = gateways()
    if name == "default" and name not in configured:
        name = default_gateway()
    return configured[name]


# How long a gateway counts as up after its worker's last good heartbeat (workers beat every 2 s).
HEALTH_STALE_SECONDS = 10.0


def routes() -> dict[str, list[str]]:
    """SMS_ROUTES: message kind -> gateway names in order of preference; "*" covers the kinds not listed.

    The first gateway of a route that is up sends the message; the others are its fail-over. Without
    SMS_ROUTES every kind goes to every configured gateway in the order they are configured::

        SMS_ROUTES = {"code": ["aggregator", "modem"], "broadcast": ["modem", "aggregator"], "*": ["aggregator"]}
    """
    names = list(gateways())
    configured = getattr(settings, "SMS_ROUTES", None) or _json_env("SMS_ROUTES") or {}
    result = {"*": names}
    for kind, route in configured.items():
        route = [route] if isinstance(route, str) else list(route)
        unknown = [name for name in route if name not in names]
        if unknown or not route:
            raise ImproperlyConfigured(
                f"SMS_ROUTES[{kind!r}] names unknown gateway(s) {', '.join(unknown) or '(none)'}; "
                f"configured: {', '.join(names)}"
            )
        result[kind] = route
    return result


def route_for(kind: str, table: dict | None = None) -> list[str]:
    table = table or routes()
    return table.get(kind) or table["*"]


def simulator_active() -> bool:
    return any(cfg["BACKEND"].endswith("simulator.SimulatorBackend") for cfg in gateways().values())


@dataclass(frozen=True)
class SendWindow:
    start: time
    end: time
    exempt_kinds: frozenset

    def allows(self, local_time: time) -> bool:
        return self.start <= local_time < self.end


def send_window() -> SendWindow:
    """Non-urgent kinds are sent only inside this window (WIB); codes and typed messages go any time."""
    start, end = getattr(settings, "SMS_SEND_WINDOW", ("08:00", "20:00"))
    exempt = getattr(settings, "SMS_SEND_WINDOW_EXEMPT_KINDS", ("code", "manual"))
    return SendWindow(time.fromisoformat(start), time.fromisoformat(end), frozenset(exempt))


def max_attempts() -> int:
    return int(getattr(settings, "SMS_MAX_ATTEMPTS", 8))


def retry_backoff() -> tuple[float, float]:
    """(first delay, cap) in seconds for temporary failures: first, 2×first, 4×first … up to cap."""
    return tuple(getattr(settings, "SMS_RETRY_BACKOFF", (30.0, 3600.0)))


def report_expiry_hours() -> float:
    """SMS_REPORT_EXPIRY_HOURS (default 48): a message accepted by a gateway with no final delivery report after
    this long becomes "no report" (abah/sms/expiry.py); a late receipt still settles it."""
    value = getattr(settings, "SMS_REPORT_EXPIRY_HOURS", 48)
    try:
        hours = float(value)
    except (TypeError, ValueError) as error:
        raise ImproperlyConfigured(f"SMS_REPORT_EXPIRY_HOURS must be a number of hours, not {value!r}") from error
    if not hours > 0:
        raise ImproperlyConfigured(f"SMS_REPORT_EXPIRY_HOURS must be more than 0, not {value!r}")
    return hours
