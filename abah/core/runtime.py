"""The background processes of one installation; apps add theirs (the SMS daemon) at start-up."""

_WORKERS: list[tuple[str, list[str]]] = [("tasks", ["tasks_worker", "--interval", "0.5", "--no-reload"])]


def register_worker(name: str, argv: list[str]) -> None:
    if all(existing != name for existing, _ in _WORKERS):
        _WORKERS.append((name, argv))


def worker_commands() -> list[tuple[str, list[str]]]:
    return list(_WORKERS)
