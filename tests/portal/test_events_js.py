"""The portal's live-events client (static/portal/js/events.js) run in node against a fake
WebSocket and a virtual clock: while the server accepts and at once closes every connection
(what daphne does while Redis is down) the client backs off exponentially to 30 s instead of
reconnecting twice a second; a connection that received a message, or stayed open 5 s, starts
the back-off over."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS_JS = ROOT / "static" / "portal" / "js" / "events.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (scripts/system-packages.sh installs it)")

# The server's behaviour is switched by `server`: "down" accepts and closes with 4503 10 ms
# later, "up" answers a subscription with a message, "silent" stays open without a word.
RUNNER = """
import { reconnectDelay, subscribe, listen, RETRY_MAX_MS, STABLE_AFTER_MS } from "./events.mjs";

let now = 0;
let nextId = 1;
const timers = new Map();
globalThis.setTimeout = (fn, ms) => {
  const id = nextId++;
  timers.set(id, { at: now + ms, fn });
  return id;
};
globalThis.clearTimeout = (id) => timers.delete(id);
function advance(ms) {
  const until = now + ms;
  for (;;) {
    const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
    if (!due.length) break;
    const [id, timer] = due[0];
    timers.delete(id);
    now = timer.at;
    timer.fn();
  }
  now = until;
}

let seed = 42;
Math.random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

let server = "down";
let current = null;
const attempts = [];
class FakeSocket {
  static OPEN = 1;
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.handlers = {};
    attempts.push(now);
    current = this;
    setTimeout(() => {
      this.readyState = 1;
      this.emit("open", {});
      if (server === "down") setTimeout(() => this.drop(4503), 10);
    }, 5);
  }
  addEventListener(type, fn) {
    (this.handlers[type] ||= []).push(fn);
  }
  emit(type, event) {
    for (const fn of this.handlers[type] || []) fn(event);
  }
  send(text) {
    const reply = { type: "subscribed", job: JSON.parse(text).job };
    if (server === "up") setTimeout(() => this.emit("message", { data: JSON.stringify(reply) }), 5);
  }
  drop(code) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit("close", { code });
  }
}
globalThis.WebSocket = FakeSocket;
globalThis.location = { protocol: "http:", host: "annotator.test" };

const out = {};
out.delays = [1, 2, 3, 6, 7, 8, 50].map((n) => [reconnectDelay(n, () => 0), reconnectDelay(n, () => 1)]);
out.constants = { max: RETRY_MAX_MS, stable: STABLE_AFTER_MS };

// An outage of 10 minutes: accepted, then closed at once, every time.
const received = [];
listen((message) => received.push(message));
subscribe("job", 7);
advance(600000);
out.outage = attempts.slice();
out.received_in_outage = received.length;

// The server is back: the next attempt gets a message, and the connection is kept.
function dropThen(ms) {
  const at = now;
  const count = attempts.length;
  current.drop(1006);
  advance(ms);
  return attempts[count] - at; // how long the client waited before reconnecting
}
server = "up";
const before = attempts.length;
advance(RETRY_MAX_MS + 100);
out.recovered_after = attempts[before] - 600000;
out.received = received.slice();
advance(60000);
out.attempts_while_up = attempts.length - before;
out.after_healthy_drop = dropThen(RETRY_MAX_MS + 100);

// Open 5 s without a message also counts as healthy; open less than 4 s does not.
server = "silent";
out.silent = [dropThen(4000), dropThen(4000), dropThen(RETRY_MAX_MS + 100), dropThen(RETRY_MAX_MS + 100)];
console.log(JSON.stringify(out));
"""


def run_node(tmp_path: Path) -> dict:
    (tmp_path / "events.mjs").write_text(EVENTS_JS.read_text())
    (tmp_path / "run.mjs").write_text(RUNNER)
    done = subprocess.run([NODE, str(tmp_path / "run.mjs")], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_reconnects_back_off_to_30_seconds_while_the_server_closes_every_connection(tmp_path):
    result = run_node(tmp_path)
    # 500 ms doubling, capped at 30 s; jitter draws from the upper half.
    assert result["delays"] == [
        [250, 500],
        [500, 1000],
        [1000, 2000],
        [8000, 16000],
        [15000, 30000],
        [15000, 30000],
        [15000, 30000],
    ]
    attempts = result["outage"]
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(attempts)]
    # The reset-on-open client reconnected every ~0.5 s: 1,200 times in these 10 minutes.
    assert 20 <= len(attempts) <= 45, (len(attempts), gaps)
    assert all(gap >= 0.25 for gap in gaps), gaps
    assert max(gaps) <= 30.1, gaps
    assert all(gap >= 15 for gap in gaps[6:]), gaps  # from the 7th failure on: 15 to 30 s
    assert result["received_in_outage"] == 0


def test_a_connection_that_received_a_message_or_stayed_open_starts_the_back_off_over(tmp_path):
    result = run_node(tmp_path)
    assert result["recovered_after"] <= 30_000
    assert result["received"] == [{"type": "subscribed", "job": 7}]
    assert result["attempts_while_up"] == 1  # once a message came, the connection is kept
    assert result["after_healthy_drop"] <= 500  # the first retry after a healthy connection
    # Waits after each drop: a healthy connection, one open under 4 s (no reset: the back-off
    # grows), another, then one that stayed open for more than 5 s (reset).
    after_healthy, after_short, after_second_short, after_stayed = result["silent"]
    assert after_healthy <= 500
    assert 500 <= after_short <= 1000
    assert 1000 <= after_second_short <= 2000
    assert after_stayed <= 500
