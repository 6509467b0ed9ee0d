"""``python -m tests.faults.queue COUNT [START]``: queue COUNT single-segment "manual" messages (sent at any
hour), one number each (tests.faults.harness.number), into the database of DATABASE_URL."""

import sys


def main(argv: list[str]) -> int:
    import django

    django.setup()
    from abah.sms import services
    from tests.faults.harness import number

    count = int(argv[0])
    start = int(argv[1]) if len(argv) > 1 else 1
    for first in range(start, start + count, 5000):
        services.queue_messages([
            {"to": number(i), "text": f"Uji gangguan {i}: dana hibah Tahap I sudah ditransfer.", "kind": "manual",
             "idempotency_key": f"fault:{i}"}
            for i in range(first, min(start + count, first + 5000))
        ])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
