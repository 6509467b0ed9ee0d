"""The background processes of one installation; apps add theirs (the SMS daemon) at start-up."""

_WORKERS: list[tuple[str, list[str]]] = [("tasks", ["tasks_worker", "--interval", "0.5", "--no-reload"])]


def register_worker(name: str, argv: list[str]) -> None:
    if all(existing != name for existing, _ in _WORKERS):
        _WORKERS.append((name, argv))


def worker_commands() -> list[tuple[str, list[str]]]:
    return list(_WORKERS)


def run_periodically(one_pass, *, every: float, max_passes: int = 0, log=None, what: str = "pass") -> None:
    """Call ``one_pass()`` every ``every`` seconds until SIGTERM/SIGINT (or ``max_passes``): the loop of the
    periodic background commands (lpj_reminders, retention). A failed pass is logged, never the end of the
    worker; the next one retries."""
    import logging
    import signal
    import threading

    from django.db import close_old_connections, connection

    log = log or logging.getLogger("abah.core.runtime")
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stop.set())
    passes = 0
    while not stop.is_set():
        if not connection.in_atomic_block:  # a caller's transaction (tests) must keep its connection
            close_old_connections()
        try:
            one_pass()
        except Exception:
            log.exception("%s failed", what)
        passes += 1
        if max_passes and passes >= max_passes:
            break
        stop.wait(every)
