"""Every configured gateway's health, for the status page: routes, workers, SMPP bind state, Gammu modems.

The web process never binds to an SMSC: what it knows about an SMPP link comes from the heartbeats the
workers write (``WorkerHeartbeat.gateway_ok`` / ``gateway_error``). For Gammu it reads the ``phones``
table of gammu-smsd's own database (heartbeat, signal, battery, counters) with a short connect timeout.
Nothing shown here contains a password: SMPP passwords live only in the environment, and the Gammu DSN
is never displayed.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abah.sms import conf

log = logging.getLogger("abah.sms.health")

BACKEND_LABELS = {  # what staff read: never the class name
    "SmppBackend": "SMPP",
    "HttpBackend": "HTTP API",
    "GammuBackend": gettext_lazy("Modem (Gammu)"),
    "SimulatorBackend": gettext_lazy("Simulator"),
    "LocmemBackend": gettext_lazy("Test gateway (in memory)"),
}


def backend_label(backend: str) -> str:
    """"abah.sms.backends.simulator.SimulatorBackend" or "SimulatorBackend" → "Simulator"; another back end
    (a project's own) is named by its class without the "Backend" suffix."""
    name = (backend or "").rsplit(".", 1)[-1]
    return str(BACKEND_LABELS.get(name) or name.removesuffix("Backend") or name)


@dataclass
class GatewayHealth:
    name: str
    backend: str
    label: str
    state: str  # up | down | idle (no worker running)
    detail: str = ""
    endpoint: str = ""
    primary_for: list = field(default_factory=list)
    fallback_for: list = field(default_factory=list)
    workers: list = field(default_factory=list)
    phones: list = field(default_factory=list)
    phones_error: str = ""
    sent: int = 0
    waiting: int = 0  # queued messages only this gateway may send (it may have them already)
    outbox: int | None = None  # Gammu: rows gammu-smsd has not sent yet

    @property
    def up(self) -> bool:
        return self.state == "up"


def _endpoint(backend: str, options: dict) -> str:
    if backend == "SmppBackend":
        where = f"{options.get('host', '127.0.0.1')}:{options.get('port', 2775)}"
        who = options.get("system_id") or ""
        return f"{who}@{where}" if who else where
    if backend == "GammuBackend":
        engine = options.get("engine", "sqlite")
        if engine == "sqlite":
            return f"sqlite {options.get('path', '')}"
        return f"{engine}, PhoneID {options.get('phone_id') or '*'}"  # the DSN may hold a password: not shown
    return ""


def _kind_labels(kinds):
    from abah.sms.models import Message

    labels = dict(Message.Kind.choices)
    return [str(labels.get(kind, kind)) for kind in kinds]


def gammu_phones(name: str) -> tuple[list[dict], int | None, str]:
    """(modems, outbox rows, error) from the gateway's Gammu database; an error in words when it cannot be read."""
    from . import get_backend

    try:
        backend = get_backend(name, connect_timeout=3)
        backend.open()
        try:
            return backend.phones(), backend.outbox_size(), ""
        finally:
            backend.close()
    except Exception as error:  # the page must show the problem, not fail
        log.info("gateway %s: cannot read gammu phones: %s", name, error)
        return [], None, str(error)[:255] or error.__class__.__name__


def overview(*, with_phones: bool = True) -> list[GatewayHealth]:
    """One entry per configured gateway, in configured order."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db.models import Count

    from abah.sms.models import Message, WorkerHeartbeat

    now = timezone.now()
    configured = conf.gateways()
    try:
        table = conf.routes()
    except ImproperlyConfigured as error:  # shown on every gateway instead of a server error
        log.error("SMS_ROUTES: %s", error)
        table = {"*": list(configured)}
    waiting = dict(Message.objects.filter(status=Message.Status.QUEUED, gateway__in=list(configured))
                   .values_list("gateway").annotate(n=Count("id")).order_by())
    kinds = [kind for kind in Message.Kind.values if kind != Message.Kind.REPLY]
    fresh_since = now - timedelta(seconds=conf.HEALTH_STALE_SECONDS)
    beats = list(WorkerHeartbeat.objects.filter(gateway__in=list(configured), state="running",
                                                seen_at__gte=fresh_since).order_by("worker"))
    result = []
    for name, cfg in configured.items():
        backend = cfg["BACKEND"].rsplit(".", 1)[-1]
        routes = {kind: conf.route_for(kind, table) for kind in kinds}
        mine = [b for b in beats if b.gateway == name]
        ok = [b for b in mine if b.gateway_ok]
        if ok:
            state, detail = "up", ""
            if backend == "SmppBackend":
                mode = cfg.get("OPTIONS", {}).get("bind", "transceiver").replace("_", " + ")
                detail = _("Bound as %(mode)s") % {"mode": mode}
        elif mine:
            state = "down"
            detail = next((b.gateway_error for b in mine if b.gateway_error), "") or _("The gateway is not reachable.")
        else:
            state, detail = "idle", _("No worker is running for this gateway (manage.py smsd --gateway %(name)s).") % {
                "name": name}
        health = GatewayHealth(
            name=name, backend=backend, label=backend_label(backend), state=state, detail=detail,
            endpoint=_endpoint(backend, cfg.get("OPTIONS", {})),
            primary_for=_kind_labels([k for k, r in routes.items() if r and r[0] == name]),
            fallback_for=_kind_labels([k for k, r in routes.items() if name in r[1:]]),
            workers=mine, sent=sum(b.sent for b in mine), waiting=waiting.get(name, 0),
        )
        if backend == "GammuBackend" and with_phones:
            health.phones, health.outbox, health.phones_error = gammu_phones(name)
        result.append(health)
    return result
