// The browser end of the SSH console: an xterm.js terminal that opens our own WebSocket
// (/ws/console/<id>?ticket=...) and speaks the protocol of skypanel/backend/api/console.py:
// binary frames carry terminal bytes both ways, small JSON text frames carry control
// (resize from here; status, error and closed from the server).
//
// Terminal bytes never pass through Reflex state. Reflex only hands us a single-use ticket and
// hears status changes through `onStatus(state, reason)`. xterm is imported when the component
// mounts (it needs a DOM; the prerendered page has none), CSS included: nothing comes from a CDN.
import { useEffect, useRef, useState } from "react";
import { getBackendURL } from "$/utils/state";
import env from "$/env.json";

// What a close code means when the server closed without saying why (contract, issue 5).
const CLOSE_REASONS = {
  1000: "The session ended.",
  1001: "The server is going away.",
  1006: "The connection was lost.",
  1009: "Too much data was sent at once.",
  1011: "Could not connect to the server over SSH.",
  4001: "The console link expired or was already used.",
  4003: "You may not open this console.",
  4004: "The server is not running or no longer exists.",
  4008: "Closed after being idle.",
  4009: "Too many consoles are open.",
  4010: "The server's host key changed; the connection was refused.",
};

const STATUS_TEXT = {
  idle: "Not connected",
  connecting: "Connecting…",
  connected: "Connected",
  closed: "Disconnected",
};

const STATUS_COLOR = {
  idle: "var(--gray-9)",
  connecting: "var(--amber-9)",
  connected: "var(--green-9)",
  closed: "var(--red-9)",
};

// A dark terminal in both colour modes (what people expect from a console), ANSI colours tuned
// to read well on it; 256-colour and truecolor sequences are handled by xterm itself.
const THEME = {
  background: "#0b0e14",
  foreground: "#d6dae4",
  cursor: "#a5b4fc",
  cursorAccent: "#0b0e14",
  selectionBackground: "#3b4a7a",
  black: "#1c2030",
  red: "#f7768e",
  green: "#9ece6a",
  yellow: "#e0af68",
  blue: "#7aa2f7",
  magenta: "#bb9af7",
  cyan: "#7dcfff",
  white: "#c0caf5",
  brightBlack: "#565f89",
  brightRed: "#ff8fa3",
  brightGreen: "#b9f27c",
  brightYellow: "#ffc777",
  brightBlue: "#8fb2ff",
  brightMagenta: "#d0b3ff",
  brightCyan: "#a4e1ff",
  brightWhite: "#ffffff",
};

// ws:// or wss:// to the backend Reflex talks to (the page's own host and scheme when they share
// a port, as in production; Reflex's backend port in `reflex run` development).
function socketURL(wsPath, ticket, cols, rows) {
  let base;
  try {
    base = getBackendURL(env.EVENT);
  } catch (e) {
    base = new URL(window.location.href);
    base.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  }
  if (base.protocol === "http:") base.protocol = "ws:";
  if (base.protocol === "https:") base.protocol = "wss:";
  const url = new URL(wsPath, base);
  url.searchParams.set("ticket", ticket);
  url.searchParams.set("cols", String(cols));
  url.searchParams.set("rows", String(rows));
  return url.toString();
}

// Tickets this page has used (module scope: it outlives a component unmounted by navigation).
const spentTickets = new Set();

const encoder = new TextEncoder();
const MAX_FRAME = 16 * 1024; // bytes of input per binary frame

function isMac() {
  return typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || "");
}

export function XtermConsole({ wsPath, ticket, fontSize, onStatus, ...rest }) {
  const boxRef = useRef(null);
  const termRef = useRef(null); // { term, fit } once xterm has loaded
  const readyRef = useRef(null); // a promise of termRef.current
  const wsRef = useRef(null);
  const connRef = useRef(null); // { ws, done } of the current connection
  const usedRef = useRef(false); // a connection was opened before: mark the reconnect in the scrollback
  const onStatusRef = useRef(onStatus);
  const [status, setStatus] = useState({ state: "idle", reason: "" });
  const [mac, setMac] = useState(false); // decided in the browser: the prerendered page has no navigator
  onStatusRef.current = onStatus;
  useEffect(() => setMac(isMac()), []);

  const report = (state, reason = "") => {
    setStatus({ state, reason });
    if (onStatusRef.current) onStatusRef.current(state, reason);
  };

  const sendControl = (message) => {
    const ws = wsRef.current;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  };

  // The terminal: created once per mount, fitted to its box, disposed on unmount.
  useEffect(() => {
    let disposed = false;
    let observer = null;
    let frame = 0;
    const onWindowResize = () => schedule();
    function schedule() {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        const t = termRef.current;
        if (!t || !boxRef.current || boxRef.current.clientWidth === 0) return;
        try {
          t.fit.fit();
        } catch (e) {
          /* not measurable yet (hidden tab) */
        }
      });
    }
    readyRef.current = Promise.all([
      import("@xterm/xterm"),
      import("@xterm/addon-fit"),
      import("@xterm/xterm/css/xterm.css"),
    ]).then(([xterm, fitAddon]) => {
      if (disposed || !boxRef.current) return null;
      const term = new xterm.Terminal({
        cursorBlink: true,
        fontFamily: '"JetBrains Mono", "Fira Code", "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace',
        fontSize: fontSize || 14,
        lineHeight: 1.15,
        scrollback: 5000,
        theme: THEME,
        allowProposedApi: false,
        macOptionIsMeta: true,
        rightClickSelectsWord: true,
      });
      const fit = new fitAddon.FitAddon();
      term.loadAddon(fit);
      term.open(boxRef.current);
      // Keystrokes (and pasted text) go out as bytes; mouse reports in binary mode as raw bytes.
      term.onData((data) => {
        const ws = wsRef.current;
        if (!ws || ws.readyState !== WebSocket.OPEN) return;
        // A long paste goes in pieces: the server refuses frames over 64 KiB.
        const bytes = encoder.encode(data);
        for (let i = 0; i < bytes.length; i += MAX_FRAME) ws.send(bytes.subarray(i, i + MAX_FRAME));
      });
      term.onBinary((data) => {
        const ws = wsRef.current;
        if (!ws || ws.readyState !== WebSocket.OPEN) return;
        const bytes = new Uint8Array(data.length);
        for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
        ws.send(bytes);
      });
      term.onResize(({ cols, rows }) => sendControl({ type: "resize", cols, rows }));
      // Copy and paste: Ctrl+Shift+C / Ctrl+Shift+V (Cmd+C / Cmd+V on a Mac); Ctrl+C stays ^C.
      term.attachCustomKeyEventHandler((ev) => {
        if (ev.type !== "keydown") return true;
        const key = (ev.key || "").toLowerCase();
        const copy = (ev.ctrlKey && ev.shiftKey && key === "c") || (isMac() && ev.metaKey && key === "c");
        const paste = (ev.ctrlKey && ev.shiftKey && key === "v") || (isMac() && ev.metaKey && key === "v");
        if (copy) {
          const text = term.getSelection();
          if (text && navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
          ev.preventDefault();
          return false;
        }
        if (paste) {
          // Let the browser's own paste event reach xterm's textarea when it can (no permission
          // prompt); read the clipboard ourselves only for Ctrl+Shift+V, which browsers ignore.
          if (ev.metaKey) return false;
          if (navigator.clipboard && navigator.clipboard.readText) {
            navigator.clipboard.readText().then((text) => text && term.paste(text)).catch(() => {});
          }
          ev.preventDefault();
          return false;
        }
        return true;
      });
      termRef.current = { term, fit };
      try {
        fit.fit();
      } catch (e) {
        /* measured on the next resize */
      }
      observer = new ResizeObserver(schedule);
      observer.observe(boxRef.current);
      window.addEventListener("resize", onWindowResize);
      return termRef.current;
    });
    return () => {
      disposed = true;
      if (connRef.current) connRef.current.done = true;
      if (frame) cancelAnimationFrame(frame);
      if (observer) observer.disconnect();
      window.removeEventListener("resize", onWindowResize);
      const ws = wsRef.current;
      wsRef.current = null;
      if (ws) ws.close(1000, "closed by the page");
      if (termRef.current) termRef.current.term.dispose();
      termRef.current = null;
    };
  }, []);

  // The connection: one per ticket. A ticket is single use: the state drops it as soon as we
  // report "connecting", so an empty ticket means "keep what you have", and a ticket this page
  // has spent already (a stale value after navigating back) is never tried again.
  useEffect(() => {
    if (!ticket || !wsPath || spentTickets.has(ticket)) return;
    spentTickets.add(ticket);
    const previous = connRef.current;
    if (previous) {
      previous.done = true;
      if (previous.ws) previous.ws.close(1000, "reconnecting");
    }
    const conn = { done: false, ws: null };
    connRef.current = conn;
    let closedReason = "";
    report("connecting");
    (readyRef.current || Promise.resolve(null)).then((t) => {
      if (conn.done || !t) return;
      const { term, fit } = t;
      try {
        fit.fit();
      } catch (e) {
        /* keep xterm's size */
      }
      if (usedRef.current) term.write("\r\n\x1b[2m── reconnecting ──\x1b[0m\r\n");
      usedRef.current = true;
      const ws = new WebSocket(socketURL(wsPath, ticket, term.cols, term.rows));
      ws.binaryType = "arraybuffer";
      conn.ws = ws;
      wsRef.current = ws;
      ws.onopen = () => {
        if (conn.done) return;
        sendControl({ type: "resize", cols: term.cols, rows: term.rows });
      };
      ws.onmessage = (ev) => {
        if (conn.done) return;
        if (typeof ev.data !== "string") {
          term.write(new Uint8Array(ev.data));
          return;
        }
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch (e) {
          return;
        }
        if (msg.type === "status" && msg.state === "connected") {
          report("connected");
          sendControl({ type: "resize", cols: term.cols, rows: term.rows });
          term.focus();
        } else if (msg.type === "error" && msg.message) {
          term.write("\r\n\x1b[31m" + String(msg.message) + "\x1b[0m\r\n");
        } else if (msg.type === "closed") {
          closedReason = String(msg.reason || "");
        }
      };
      ws.onclose = (ev) => {
        if (wsRef.current === ws) wsRef.current = null;
        if (conn.done) return;
        conn.done = true;
        const reason = closedReason || ev.reason || CLOSE_REASONS[ev.code] || "The connection closed (" + ev.code + ").";
        report("closed", reason);
        term.blur();
      };
    });
  }, [ticket, wsPath]);

  const color = STATUS_COLOR[status.state] || STATUS_COLOR.idle;
  return (
    <div
      {...rest}
      data-console-state={status.state}
      style={{
        display: "flex",
        flexDirection: "column",
        width: "100%",
        height: "100%",
        minHeight: 0,
        background: THEME.background,
        borderRadius: "inherit",
        overflow: "hidden",
        ...(rest.style || {}),
      }}
    >
      <div
        ref={boxRef}
        data-testid="terminal"
        onClick={() => termRef.current && termRef.current.term.focus()}
        style={{ flex: "1 1 auto", minHeight: 0, minWidth: 0, padding: "8px 4px 4px 10px", overflow: "hidden" }}
      />
      <div
        role="status"
        aria-live="polite"
        data-testid="console-status"
        style={{
          display: "flex",
          alignItems: "center",
          gap: "8px",
          flex: "0 0 auto",
          padding: "6px 12px",
          fontSize: "12px",
          lineHeight: "16px",
          color: "#9aa3b8",
          borderTop: "1px solid #1d2233",
          background: "#0f131c",
          fontFamily: "var(--default-font-family)",
          whiteSpace: "nowrap",
          overflow: "hidden",
        }}
      >
        <span
          aria-hidden="true"
          style={{
            width: "8px",
            height: "8px",
            borderRadius: "9999px",
            flex: "0 0 auto",
            background: color,
            boxShadow: status.state === "connected" ? "0 0 0 3px rgba(70, 167, 88, 0.25)" : "none",
          }}
        />
        <span style={{ color: "#d6dae4", fontWeight: 500 }}>{STATUS_TEXT[status.state] || status.state}</span>
        {status.reason ? (
          <span style={{ overflow: "hidden", textOverflow: "ellipsis" }} title={status.reason}>
            — {status.reason}
          </span>
        ) : null}
        <span style={{ marginLeft: "auto", opacity: 0.7 }} className="sp-console-hint">
          {mac ? "⌘C / ⌘V" : "Ctrl+Shift+C / Ctrl+Shift+V"} to copy and paste
        </span>
        <style>{"@media (max-width: 40em) { .sp-console-hint { display: none; } }"}</style>
      </div>
    </div>
  );
}
