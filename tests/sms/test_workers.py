"""`manage.py serve` starts one smsd per configured gateway (each claims the kinds its gateway serves first)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import django; django.setup(); from abah.core.runtime import worker_commands; import json; "
         "print(json.dumps([[n, a] for n, a in worker_commands() if n.startswith('smsd')]))")


def _workers(**env):
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", **env})
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_one_worker_for_one_gateway():
    assert _workers() == [["smsd", ["smsd"]]]


def test_one_worker_per_gateway():
    simulator = {"BACKEND": "abah.sms.backends.simulator.SimulatorBackend"}
    workers = _workers(SMS_GATEWAYS=json.dumps({"aggregator": simulator, "modem": simulator}))
    assert workers == [["smsd-aggregator", ["smsd", "--gateway", "aggregator"]],
                       ["smsd-modem", ["smsd", "--gateway", "modem"]]]
