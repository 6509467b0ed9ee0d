"""SMS Center settings with their defaults (config/settings.py may override any of them)."""

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from time import monotonic as _monotonic
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

WIB = ZoneInfo("Asia/Jakarta")

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


# ---------------------------------------------------------------- send window ("Jam kirim")
# Non-urgent kinds (invitations, disbursement notices, reminders, broadcasts, notification copies) go out only
# inside the window, in WIB, on the days set, and not on holidays; the exempt kinds (codes and what a person
# typed) go any time. Defaults from settings or the environment; the Admin's "Pengaturan SMS" page (a
# SendWindowSetting row) overrides them. The worker asks every tick: the window is cached for a few seconds.

WINDOW_CACHE_SECONDS = 5.0
END_OF_DAY = time.max  # "24:00"
ALL_DAYS = (1, 2, 3, 4, 5, 6, 7)
_DAY_NAMES = {
    "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
    "sen": 1, "sel": 2, "rab": 3, "kam": 4, "jum": 5, "sab": 6, "min": 7,
}


def parse_clock(value: str) -> time:
    """"08:00" / "8.00" / "24:00" (end of the day) -> time; ValueError when it is not a time of day."""
    text = str(value).strip().replace(".", ":")
    if text in ("24:00", "24:00:00", "24"):
        return END_OF_DAY
    if text.isdigit() and len(text) <= 2:
        text = f"{int(text):02d}:00"
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    return time.fromisoformat(text)


def format_clock(value: time) -> str:
    return "24:00" if value >= time(23, 59, 59) else f"{value:%H:%M}"


def parse_days(value) -> tuple[int, ...]:
    """ISO weekdays from "1-5", "1,2,3,4,5,6", "mon-fri", "sen-sab" or a sequence of numbers; ValueError."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [str(v) for v in value]
    else:
        items = [part for part in str(value).replace(";", ",").split(",")]
    days: set[int] = set()

    def day(token: str) -> int:
        token = token.strip().lower()
        number = _DAY_NAMES.get(token[:3]) if not token.isdigit() else int(token)
        if number is None or not 1 <= number <= 7:
            raise ValueError(f"not a day of the week: {token!r}")
        return number

    for item in items:
        item = item.strip()
        if not item:
            continue
        if "-" in item:
            first, last = (day(t) for t in item.split("-", 1))
            if first > last:
                raise ValueError(f"a range of days runs forwards: {item!r}")
            days.update(range(first, last + 1))
        else:
            days.add(day(item))
    if not days:
        raise ValueError("no day of the week")
    return tuple(sorted(days))


def parse_holidays(text: str) -> dict:
    """Lines "YYYY-MM-DD name" (the name is optional) -> {date: name}; ValueError naming the bad line."""
    result = {}
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _sep, name = line.partition(" ")
        try:
            day = date.fromisoformat(head.strip())
        except ValueError as error:
            raise ValueError(f"line {number}: {head!r} is not a date YYYY-MM-DD") from error
        result[day] = name.strip()
    return result


@lru_cache(maxsize=16)
def national_holidays(year: int) -> dict:
    """Indonesia's national public holidays of a year, from the maintained `holidays` package (fixed dates and the
    announced dates of the moving ones), names in Indonesian."""
    import holidays

    return dict(holidays.country_holidays("ID", years=year, language="id"))


def warm_calendar() -> None:
    """Build this year's and next year's national holidays now, when the window counts them. The first build in a
    process takes about a second (the package loads Indonesia's lunar and Islamic calendars); a worker and a web
    server pay it as they start, not on their first text or page."""
    from django.db import DatabaseError
    from django.utils import timezone

    try:
        window = send_window()
    except (DatabaseError, RuntimeError):  # the database is away at start (or not allowed): the defaults tell
        window = default_send_window()
    if window.national:
        year = timezone.localdate().year
        national_holidays(year)
        national_holidays(year + 1)


@dataclass(frozen=True)
class SendWindow:
    start: time
    end: time
    exempt_kinds: frozenset
    days: tuple = ALL_DAYS
    national: bool = True
    extra_holidays: tuple = ()  # ((date, name), …)
    source: str = "default"  # "default" (settings / environment) or "admin" (the settings page)

    def allows(self, local_time: time) -> bool:
        return self.start <= local_time < self.end or (self.end == END_OF_DAY and local_time >= self.start)

    def holiday(self, day: date) -> str | None:
        """The holiday's name when ``day`` is a day off ("" when it has no name), else None."""
        for other, name in self.extra_holidays:
            if other == day:
                return name
        if self.national:
            name = national_holidays(day.year).get(day)
            if name is not None:
                return name
        return None

    def open_on(self, day: date) -> bool:
        return day.isoweekday() in self.days and self.holiday(day) is None

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(WIB)
        return self.open_on(local.date()) and self.allows(local.time())

    def exempt(self, kind: str) -> bool:
        return kind in self.exempt_kinds

    def next_open(self, moment: datetime) -> datetime | None:
        """``moment`` itself when the window is open then, else the next opening (WIB); None: never opens."""
        local = moment.astimezone(WIB)
        if self.open_at(local):
            return local
        for offset in range(0, 400):
            day = local.date() + timedelta(days=offset)
            if not self.open_on(day):
                continue
            opening = datetime.combine(day, self.start, tzinfo=WIB)
            if opening > local:
                return opening
        return None

    def describe(self) -> dict:
        return {
            "start": format_clock(self.start), "end": format_clock(self.end), "days": self.days,
            "exempt": sorted(self.exempt_kinds), "national": self.national, "source": self.source,
        }


def _setting(name: str, default):
    """settings.NAME, else the environment variable NAME, else the default."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "").strip() or None
    return default if value is None else value


def default_send_window() -> SendWindow:
    """The window from settings or the environment: SMS_SEND_WINDOW ("08:00-20:00", or a pair in settings),
    SMS_SEND_DAYS ("1-7", "1-5", "mon-sat"), SMS_SEND_HOLIDAYS ("national", "none", "national,2026-12-24")
    and SMS_SEND_WINDOW_EXEMPT_KINDS ("code,manual")."""
    raw = _setting("SMS_SEND_WINDOW", ("08:00", "20:00"))
    try:
        start, end = (raw.split("-", 1) if isinstance(raw, str) else raw)
        start, end = parse_clock(start), parse_clock(end)
        if not start < end:
            raise ValueError("the window must end after it starts")
        days = parse_days(_setting("SMS_SEND_DAYS", ALL_DAYS))
        exempt = _setting("SMS_SEND_WINDOW_EXEMPT_KINDS", ("code", "manual"))
        if isinstance(exempt, str):
            exempt = [kind.strip() for kind in exempt.split(",") if kind.strip()]
        holidays_raw = _setting("SMS_SEND_HOLIDAYS", "national")
        if not isinstance(holidays_raw, str):
            holidays_raw = ",".join(str(item) for item in holidays_raw)
        parts = [part.strip() for part in holidays_raw.split(",") if part.strip()]
        national = "national" in parts
        extra = parse_holidays("\n".join(p for p in parts if p not in ("national", "none")))
    except (TypeError, ValueError) as error:
        raise ImproperlyConfigured(f"the SMS send window settings are not valid: {error}") from error
    return SendWindow(start, end, frozenset(exempt), days, national, tuple(sorted(extra.items())))


def _window_from_row(row) -> SendWindow:
    return SendWindow(
        row.start, row.end, frozenset(k for k in row.exempt_kinds.split(",") if k),
        parse_days(row.days), row.national_holidays, tuple(sorted(parse_holidays(row.holidays).items())), "admin",
    )


_window_cache: dict = {}


def clear_send_window_cache(**_kwargs) -> None:
    _window_cache.clear()


setting_changed.connect(clear_send_window_cache)


def send_window(*, fresh: bool = False) -> SendWindow:
    """The window in force: the Admin's setting when saved, else the defaults; cached WINDOW_CACHE_SECONDS."""
    cached = _window_cache.get("window")
    if cached and not fresh and _monotonic() - cached[0] < WINDOW_CACHE_SECONDS:
        return cached[1]
    from .models import SendWindowSetting

    row = SendWindowSetting.objects.order_by("pk").first()
    try:
        window = _window_from_row(row) if row is not None else default_send_window()
    except ValueError:  # a row edited outside the settings page: the defaults rather than a stopped worker
        window = default_send_window()
    _window_cache["window"] = (_monotonic(), window)
    return window


def next_send_time(kind: str, now: datetime | None = None, window: SendWindow | None = None) -> datetime | None:
    """When a message of ``kind`` queued at ``now`` may go (WIB): ``now`` itself when it may go now (an exempt kind,
    or inside the window), else the next opening of the window across nights, days off and holidays; None when
    the window never opens (no day at all)."""
    from django.utils import timezone

    now = now or timezone.now()
    window = window or send_window()
    if window.exempt(kind):
        return now.astimezone(WIB)
    return window.next_open(now)


def may_send_now(kind: str, now: datetime | None = None) -> bool:
    from django.utils import timezone

    now = now or timezone.now()
    window = send_window()
    return window.exempt(kind) or window.open_at(now)


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
