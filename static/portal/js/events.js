// Live events over /ws/events/ (Channels, session-authenticated): subscribe to a project or a
// job and get its messages. Reconnects with a back-off and subscribes again.

const listeners = new Set();
const subscriptions = new Set();
let socket = null;
let retry = 500;

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/events/`);
  socket.addEventListener("open", () => {
    retry = 500;
    for (const key of subscriptions) {
      const [kind, id] = key.split(":");
      send({ action: "subscribe", [kind]: Number(id) });
    }
  });
  socket.addEventListener("message", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const listener of listeners) listener(data);
  });
  socket.addEventListener("close", () => {
    socket = null;
    if (subscriptions.size === 0) return;
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 15000);
  });
}

/** subscribe("project", 12) or subscribe("job", 40); returns an unsubscribe function. */
export function subscribe(kind, id) {
  const key = `${kind}:${id}`;
  if (!subscriptions.has(key)) {
    subscriptions.add(key);
    if (!socket) connect();
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
