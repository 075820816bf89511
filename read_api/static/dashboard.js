// Obrador's 5 AM page: sign in, show the server-rendered dashboard, send the buttons'
// commands, keep it live. No framework, no CDN. docs/dashboard.md.
"use strict";
(() => {
  const store = window.sessionStorage;
  const $ = (sel) => document.querySelector(sel);
  const KEYS = ["obrador.access", "obrador.refresh", "obrador.key"];
  let lastPosition = 0;
  let reloadTimer = null;
  let liveAbort = null;
  let pollTimer = null;

  function credential() {
    return store.getItem("obrador.access") || store.getItem("obrador.key");
  }

  function notice(text, kind) {
    const el = $("#notice");
    el.textContent = text || "";
    el.className = kind || "";
  }

  function signedIn(yes) {
    $("#login").hidden = yes;
    $("#signout").hidden = !yes;
    if (!yes) $("#dashboard").innerHTML = "";
  }

  async function refresh() {
    const token = store.getItem("obrador.refresh");
    if (!token) return false;
    const r = await fetch("/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    });
    if (!r.ok) return false;
    const pair = await r.json();
    store.setItem("obrador.access", pair.access_token);
    store.setItem("obrador.refresh", pair.refresh_token);
    return true;
  }

  // fetch with the credential; one refresh and retry on 401, then back to the form.
  async function api(path, options = {}, retried = false) {
    const headers = Object.assign({}, options.headers || {}, {
      Authorization: "Bearer " + credential(),
    });
    const r = await fetch(path, Object.assign({}, options, { headers }));
    if (r.status === 401 && !retried && (await refresh())) return api(path, options, true);
    if (r.status === 401) {
      signOut("Signed out: sign in again.");
      throw new Error("unauthorized");
    }
    return r;
  }

  function viewQuery(minPosition) {
    const here = new URLSearchParams(window.location.search);
    const q = new URLSearchParams();
    for (const name of ["store", "date"]) if (here.get(name)) q.set(name, here.get(name));
    if (minPosition) q.set("min_position", String(minPosition));
    const text = q.toString();
    return text ? "?" + text : "";
  }

  async function load(minPosition) {
    if (!credential()) return;
    let r = await api("/v1/dashboard/view" + viewQuery(minPosition));
    if (r.status === 503) {
      // the read models have not caught up yet: show what is there, the stream retries
      r = await api("/v1/dashboard/view" + viewQuery(0));
    }
    if (!r.ok) {
      notice(await problemText(r), "error");
      return;
    }
    $("#dashboard").innerHTML = await r.text();
    document.body.dataset.loaded = String(Date.now());
  }

  function reloadSoon(position) {
    if (position) lastPosition = Math.max(lastPosition, position);
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => load(lastPosition).catch(() => {}), 250);
  }

  async function problemText(r) {
    try {
      const p = await r.json();
      const fields = (p.errors || []).map((e) => e.field + ": " + e.reason).join("; ");
      return (p.detail || p.title || r.statusText) + (fields ? " (" + fields + ")" : "");
    } catch (e) {
      return r.status + " " + r.statusText;
    }
  }

  async function send(button) {
    const body = JSON.parse(button.dataset.body || "{}");
    const input = button.dataset.input;
    if (input) {
      const field = button.parentElement.querySelector("input[name='" + input + "']");
      if (!field || !field.value) {
        notice("Type the " + input + " first.", "error");
        return;
      }
      body[input] = field.value;
    }
    button.disabled = true;
    try {
      const r = await api(button.dataset.path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!r.ok) {
        notice(await problemText(r), "error");
        button.disabled = false;
        return;
      }
      const answer = await r.json();
      notice(button.textContent + ": done.", "ok");
      await load(answer.position);
    } catch (e) {
      button.disabled = false;
    }
  }

  // Server-Sent Events over fetch (EventSource cannot send a bearer header).
  async function live() {
    if (liveAbort) liveAbort.abort();
    liveAbort = new AbortController();
    const headers = { Authorization: "Bearer " + credential(), Accept: "text/event-stream" };
    if (lastPosition) headers["Last-Event-ID"] = String(lastPosition);
    let r;
    try {
      r = await fetch("/v1/stream", { headers, signal: liveAbort.signal });
    } catch (e) {
      return;
    }
    if (r.status === 401 && (await refresh())) return live();
    if (!r.ok || !r.body) {
      poll(); // the stream is unavailable: poll instead
      return;
    }
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        break;
      }
      if (chunk.done) break;
      buffer += chunk.value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = message.split("\n").find((line) => line.startsWith("id:"));
        if (id) reloadSoon(parseInt(id.slice(3), 10));
      }
    }
    if (credential() && !liveAbort.signal.aborted) setTimeout(live, 2000);
  }

  function poll() {
    clearInterval(pollTimer);
    pollTimer = setInterval(() => load(0).catch(() => {}), 30000);
  }

  async function start() {
    signedIn(true);
    notice("");
    await load(0);
    live();
  }

  function signOut(message) {
    const token = store.getItem("obrador.refresh");
    if (token) {
      fetch("/v1/auth/logout", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      }).catch(() => {});
    }
    for (const k of KEYS) store.removeItem(k);
    if (liveAbort) liveAbort.abort();
    clearInterval(pollTimer);
    signedIn(false);
    notice(message || "");
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    const key = form.key.value.trim();
    if (key) {
      store.setItem("obrador.key", key);
      return start();
    }
    const r = await fetch("/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.email.value, password: form.password.value }),
    });
    if (!r.ok) {
      notice(await problemText(r), "error");
      return;
    }
    const pair = await r.json();
    store.setItem("obrador.access", pair.access_token);
    store.setItem("obrador.refresh", pair.refresh_token);
    form.password.value = "";
    return start();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const hash = new URLSearchParams(window.location.hash.slice(1));
    if (hash.has("key")) store.setItem("obrador.key", hash.get("key"));
    if (window.location.hash) history.replaceState(null, "", window.location.pathname + window.location.search);
    $("#login").addEventListener("submit", (e) => signIn(e).catch(() => {}));
    $("#signout").addEventListener("click", () => signOut("Signed out."));
    $("#dashboard").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-path]");
      if (button) send(button);
    });
    if (hash.has("signout")) signOut("Signed out.");
    if (credential()) start().catch(() => {});
    else signedIn(false);
  });
})();
