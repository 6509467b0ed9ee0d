"""Run every benchmark module (or the ones named): `python -m bench [name ...]`."""

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    available = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))
    # Benchmark names come first; everything from the first option on is handed to each benchmark
    # (so both `--n=5000` and `--n 5000` work).
    names = []
    for arg in argv:
        if arg.startswith("-"):
            break
        names.append(arg)
    options = []
    for arg in argv[len(names):]:
        if options and not arg.startswith("-") and "=" not in options[-1]:
            options[-1] += f"={arg}"  # "--n 5000" → "--n=5000"
        else:
            options.append(arg)
    unknown = set(names) - set(available)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; available: {', '.join(available)}")
        return 2
    chosen = names or available
    failures = 0
    for name in chosen:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "run"):
            continue
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.monotonic()
        failures += 1 if module.run(options) else 0
        print(f"=== bench.{name}: {time.monotonic() - started:.1f} s ===", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
