// Live events over /ws/events/ (Channels, session-authenticated): subscribe to a project or a
// job and get its messages. Reconnects with a back-off and subscribes again.
//
// While Redis is down the server accepts a connection and closes it at once (4503, try again
// later): an open alone proves nothing, so the back-off starts over only once a connection has
// received a message or stayed open STABLE_AFTER_MS; until then each reconnect waits twice as
// long, up to RETRY_MAX_MS, with jitter so that many browsers do not come back in step.

export const RETRY_FIRST_MS = 500;
export const RETRY_MAX_MS = 30000;
export const STABLE_AFTER_MS = 5000;

/** Milliseconds before reconnect number `failures` (1, 2, ...) since the last healthy
 * connection: 500 ms doubling up to 30 s, the upper half of it random. */
export function reconnectDelay(failures, random = Math.random) {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

const listeners = new Set();
const subscriptions = new Set();
let socket = null;
let failures = 0; // connections closed since the last healthy one
let stableTimer = null;
let reconnectTimer = null;

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function healthy() {
  failures = 0;
  clearTimeout(stableTimer);
}

function connect() {
  reconnectTimer = null;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
  socket.addEventListener("open", () => {
    stableTimer = setTimeout(healthy, STABLE_AFTER_MS);
    for (const key of subscriptions) {
      const [kind, id] = key.split(":");
      send({ action: "subscribe", [kind]: Number(id) });
    }
  });
  socket.addEventListener("message", (event) => {
    healthy();
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const listener of listeners) listener(data);
  });
  socket.addEventListener("close", () => {
    clearTimeout(stableTimer);
    socket = null;
    if (subscriptions.size === 0) return;
    failures += 1;
    reconnectTimer = setTimeout(connect, reconnectDelay(failures));
  });
}

/** subscribe("project", 12) or subscribe("job", 40); returns an unsubscribe function. */
export function subscribe(kind, id) {
  const key = `${kind}:${id}`;
  if (!subscriptions.has(key)) {
    subscriptions.add(key);
    if (!socket && !reconnectTimer) connect(); // else the pending reconnect subscribes it
    else send({ action: "subscribe", [kind]: Number(id) });
  }
  return () => {
    subscriptions.delete(key);
    send({ action: "unsubscribe", [kind]: Number(id) });
  };
}

/** listen(fn): fn(message) for every message of every subscription. */
export function listen(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Resolves with the job's final event (succeeded, failed or cancelled); onProgress for the rest. */
export function followJob(jobId, onProgress = () => {}) {
  return new Promise((resolve) => {
    const stop = subscribe("job", jobId);
    const off = listen((event) => {
      if (event.type !== "job" || event.job_id !== jobId) return;
      onProgress(event);
      if (["succeeded", "failed", "cancelled"].includes(event.status)) {
        off();
        stop();
        resolve(event);
      }
    });
  });
}
