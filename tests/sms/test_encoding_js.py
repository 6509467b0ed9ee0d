"""The browser's live SMS counter (static/js/sms-counter.js) agrees with abah.sms.encoding, run in node."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from abah.sms.encoding import analyze
from tests.sms.test_encoding import EDGE_CASES, texts

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "sms-counter.js"
NODE = os.environ.get("ABAH_NODE", "/usr/bin/node")

# Loads the script into a vm context with just enough of window/document for it to initialise, then answers
# one JSON line of texts with one JSON line of AbahSms.analyze() results ("analyze" mode), or plays a DOM
# scenario with fake textareas and prints what the counters showed ("dom" mode).
HARNESS = r"""
const fs = require("fs");
const vm = require("vm");
const readline = require("readline");
const [scriptPath, mode] = process.argv.slice(2);
const source = fs.readFileSync(scriptPath, "utf8");

function page(readyState) {
  const listeners = {};
  const textareas = [];
  const targets = {};
  const document = {
    readyState,
    addEventListener(type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
    querySelectorAll(selector) {
      if (selector !== "textarea[data-sms-counter]") { throw new Error("unexpected selector " + selector); }
      return textareas.filter((t) => t.hasAttribute("data-sms-counter"));
    },
    querySelector(selector) {
      if (!/^#[\w-]+$/.test(selector)) { throw new SyntaxError("invalid selector " + selector); }
      return targets[selector] || null;
    },
  };
  const window = { document };
  return {
    window,
    load() { vm.runInContext(source, vm.createContext({ window, document }), { filename: scriptPath }); },
    fire(type, target) { (listeners[type] || []).forEach((fn) => fn({ type, target })); },
    textarea(attrs, value) {
      const el = {
        tagName: "TEXTAREA", value,
        getAttribute: (name) => (name in attrs ? attrs[name] : null),
        hasAttribute: (name) => name in attrs,
      };
      textareas.push(el);
      return el;
    },
    target(id) {
      const classes = new Set();
      const el = {
        textContent: "",
        classList: { add: (c) => classes.add(c), remove: (c) => classes.delete(c), contains: (c) => classes.has(c) },
        get state() { return [el.textContent, classes.has("text-warning")]; },
      };
      targets["#" + id] = el;
      return el;
    },
  };
}

if (mode === "analyze") {
  const { window, load } = page("loading");
  load();
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const results = JSON.parse(line).map((text) => {
      const r = window.AbahSms.analyze(text);
      return { encoding: r.encoding, chars: r.chars, units: r.units, segments: r.segments,
               per_segment: r.perSegment, parts: Array.from(r.parts) };
    });
    process.stdout.write(JSON.stringify(results) + "\n");
  });
} else if (mode === "dom") {
  const log = {};
  const p = page("loading");
  const c1 = p.target("c1"), c2 = p.target("c2"), c3 = p.target("c3"), other = p.target("other");
  const a = p.textarea({ "data-sms-counter": "#c1" }, "Halo");
  const b = p.textarea({ "data-sms-counter": "#c2", "data-label-chars": "characters", "data-label-sms": "messages" },
                       "Rp\u00A0400");
  p.textarea({ "data-sms-counter": "!!not a selector" }, "x");
  p.textarea({ "data-sms-counter": "#missing" }, "x");
  const plain = p.textarea({}, "no counter");
  p.load();
  log.before = [c1.state, c2.state];
  p.fire("DOMContentLoaded", null);
  log.loaded = [c1.state, c2.state];
  b.value = "Rp400";
  p.fire("input", b);
  log.typed = [c1.state, c2.state];
  a.value = "\u20ac".repeat(81);
  p.fire("input", a);
  log.euros = c1.state;
  p.fire("input", plain);
  log.plain = other.state;
  const c = p.textarea({ "data-sms-counter": "#c3" }, "a".repeat(161));
  p.fire("htmx:afterSwap", null);
  log.swapped = c3.state;
  c.value = "\uD83D\uDE00";
  p.fire("htmx:load", null);
  log.loaded_again = c3.state;
  const late = page("complete");
  const d = late.target("d");
  late.textarea({ "data-sms-counter": "#d" }, "");
  late.load();
  log.complete = d.state;
  log.api = Object.keys(p.window.AbahSms).sort();
  process.stdout.write(JSON.stringify(log) + "\n");
}
"""


@pytest.fixture(scope="session")
def node(tmp_path_factory):
    path = NODE if os.access(NODE, os.X_OK) else shutil.which("node")
    if not path:
        reason = (
            f"node not found at {NODE} or on PATH (apt-get install nodejs): the JS SMS counter is NOT tested"
        )
        if os.environ.get("ABAH_REQUIRE_ALL") == "1":
            pytest.fail(f"required component missing: {reason}")
        pytest.skip(f"MISSING COMPONENT: {reason}")
    harness = tmp_path_factory.mktemp("sms-counter") / "harness.js"
    harness.write_text(HARNESS, encoding="utf-8")
    return path, harness


@pytest.fixture(scope="session")
def js_analyze(node):
    path, harness = node
    process = subprocess.Popen(
        [path, str(harness), str(SCRIPT), "analyze"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )

    def run(batch: list[str]) -> list[dict]:
        process.stdin.write(json.dumps(batch) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"node harness died: {process.stderr.read()}")
        return json.loads(line)

    yield run
    process.stdin.close()
    process.wait(timeout=10)


def python_view(text: str) -> dict:
    result = analyze(text)
    return {
        "encoding": result.encoding,
        "chars": result.chars,
        "units": result.units,
        "segments": result.segments,
        "per_segment": result.per_segment,
        "parts": list(result.parts),
    }


def test_edge_cases_agree(js_analyze):
    batch = [case[1] for case in EDGE_CASES]
    for case, js in zip(EDGE_CASES, js_analyze(batch), strict=True):
        assert js == python_view(case[1]), case[0]


def test_every_single_character_classified_alike(js_analyze):
    # Each code point alone: the JS tables must match Python's, character for character.
    points = [*range(0, 0x3100), *range(0xF900, 0x10000), 0x1D11E, 0x1F3FD, 0x1F44D, 0x1F600, 0x10FFFF]
    batch = [chr(p) for p in points]
    mismatched = [
        f"U+{ord(text):04X}"
        for text, js in zip(batch, js_analyze(batch), strict=True)
        if js != python_view(text)
    ]
    assert mismatched == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_generated_texts_agree(js_analyze, text):
    assert js_analyze([text]) == [python_view(text)]


def test_counter_in_a_page(node):
    path, harness = node
    done = subprocess.run(
        [path, str(harness), str(SCRIPT), "dom"], capture_output=True, text=True, encoding="utf-8", timeout=30
    )
    assert done.returncode == 0, done.stderr
    log = json.loads(done.stdout)
    assert log["before"] == [["", False], ["", False]]  # waits for DOMContentLoaded
    assert log["loaded"] == [["4 karakter, 1 SMS (GSM-7)", False], ["6 characters, 1 messages (UCS-2)", True]]
    assert log["typed"] == [["4 karakter, 1 SMS (GSM-7)", False], ["5 characters, 1 messages (GSM-7)", False]]
    assert log["euros"] == ["81 karakter, 2 SMS (GSM-7)", False]
    assert log["plain"] == ["", False]
    assert log["swapped"] == ["161 karakter, 2 SMS (GSM-7)", False]
    assert log["loaded_again"] == ["1 karakter, 1 SMS (UCS-2)", True]
    assert log["complete"] == ["0 karakter, 0 SMS (GSM-7)", False]  # script loaded after the page was ready
    assert "analyze" in log["api"]
