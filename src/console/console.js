// The Fanline creator console. Every call goes to /console/api/<path>, which the hub forwards to
// the documented creator API at /<path> with the signed-in creator's session. Every value a fan
// or creator typed is put on the page as text, never as HTML.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  // `details`: the full view of each request whose details are open, kept across the queue's
  // refreshes so an open card stays open.
  const state = { session: null, tab: "queue", app: "", poll: null, status: "in_queue", q: "", days: "30", details: new Map() };

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k in node && k !== "list") node[k] = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  async function api(path, { method = "GET", json, headers = {} } = {}) {
    const h = { ...headers };
    if (json !== undefined) h["content-type"] = "application/json";
    if (method !== "GET" && state.session) h["x-csrf-token"] = state.session.csrf;
    const r = await fetch(`/console/api${path}`, { method, headers: h, body: json === undefined ? undefined : JSON.stringify(json), credentials: "same-origin" });
    const body = r.status === 204 ? null : await r.json().catch(() => null);
    if (r.status === 401 && !path.startsWith("/signin")) {
      showSignIn();
      throw new Error("Your session ended; sign in again.");
    }
    if (!r.ok) {
      const e = new Error(body?.error?.message ?? `The server answered ${r.status}.`);
      e.code = body?.error?.code;
      e.body = body;
      throw e;
    }
    return body;
  }

  function flash(message, bad = false) {
    const f = $("flash");
    f.textContent = message;
    f.className = bad ? "flash bad" : "flash";
    f.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => (f.hidden = true), 6000);
  }

  const money = (cents, currency = "usd") => new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format((cents ?? 0) / 100);
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
  const duration = (secs) => {
    if (secs === null || secs === undefined) return "—";
    if (secs < 3600) return `${Math.max(1, Math.round(secs / 60))} min`;
    if (secs < 172800) return `${(secs / 3600).toFixed(1)} h`;
    return `${(secs / 86400).toFixed(1)} d`;
  };
  const slugs = () => (state.app ? [state.app] : state.session.apps.map((a) => a.slug));

  // Sign-in and session.
  function showSignIn() {
    state.session = null;
    clearInterval(state.poll);
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signout").hidden = true;
    $("who").textContent = "";
  }

  async function start() {
    try {
      state.session = await api("/session");
    } catch {
      return showSignIn();
    }
    $("signin").hidden = true;
    $("app").hidden = false;
    $("signout").hidden = false;
    $("who").textContent = `Signed in as ${state.session.creator.name}`;
    const pick = $("app-select");
    pick.replaceChildren(el("option", { value: "", text: "All apps" }), ...state.session.apps.map((a) => el("option", { value: a.slug, text: a.title })));
    pick.value = state.app;
    show(location.hash.slice(1) || "queue");
  }

  $("email-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await api("/signin/email", { method: "POST", json: { email: $("signin-email").value } });
      $("email-note").textContent = r.message;
    } catch (err) {
      $("email-note").textContent = err.message;
    }
  });
  $("key-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("key-error").textContent = "";
    try {
      await api("/signin/key", { method: "POST", json: { key: $("signin-key").value.trim() } });
      $("signin-key").value = "";
      await start();
    } catch (err) {
      $("key-error").textContent = err.message;
    }
  });
  $("signout").addEventListener("click", async () => {
    await api("/signout", { method: "POST" }).catch(() => {});
    showSignIn();
  });
  $("app-select").addEventListener("change", (e) => {
    state.app = e.target.value;
    show(state.tab);
  });
  for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => show(b.dataset.tab));

  function show(tab) {
    if (!VIEWS[tab]) tab = "queue";
    state.tab = tab;
    history.replaceState(null, "", `#${tab}`);
    for (const b of document.querySelectorAll("[data-tab]")) b.toggleAttribute("aria-current", b.dataset.tab === tab), b.dataset.tab === tab && b.setAttribute("aria-current", "page");
    clearInterval(state.poll);
    $("flash").hidden = true;
    return VIEWS[tab]().catch((err) => flash(err.message, true));
  }

  // Queue.
  const STATUSES = ["in_queue", "all", "held_for_review", "authorized", "queued", "accepted", "awaiting_payment", "fulfilled", "closed", "rejected", "refunded", "disputed", "expired"];
  let busy = false;

  async function queueView() {
    const view = $("view");
    const status = el("select", { id: "f-status", onchange: (e) => ((state.status = e.target.value), refresh()) }, STATUSES.map((s) => el("option", { value: s, text: s === "in_queue" ? "Waiting on me" : s.replaceAll("_", " ") })));
    status.value = state.status;
    const search = el("input", { id: "f-search", type: "search", value: state.q, placeholder: "song, email, id…" });
    const form = el("form", { class: "filters", role: "search", onsubmit: (e) => (e.preventDefault(), (state.q = search.value), refresh()) },
      el("div", {}, el("label", { for: "f-status", text: "Status" }), status),
      el("div", {}, el("label", { for: "f-search", text: "Search" }), search),
      el("button", { type: "submit", text: "Search" }),
      el("a", { href: `/console/api/api/requests?format=csv&status=${encodeURIComponent(state.status)}${state.app ? `&app=${state.app}` : ""}`, id: "export-requests", text: "Export CSV", download: "requests.csv" }));
    const list = el("div", { id: "queue", "aria-live": "polite" });
    view.replaceChildren(el("h1", { text: "Queue" }), form, list);
    async function refresh() {
      if (busy) return;
      const params = new URLSearchParams({ status: state.status });
      if (state.q) params.set("q", state.q);
      if (state.app) params.set("app", state.app);
      const { requests } = await api(`/api/requests?${params}`);
      if (busy) return;
      list.replaceChildren(...(requests.length ? requests.map(requestCard) : [el("p", { class: "muted", text: "Nothing here right now." })]));
    }
    await refresh();
    state.poll = setInterval(() => refresh().catch(() => {}), 4000);
  }

  function requestCard(r) {
    const title = r.fields.song ?? r.fields.subject ?? r.fields.name ?? r.fields.title ?? Object.values(r.fields).find((v) => typeof v === "string") ?? r.id;
    const fields = el("dl", { class: "fields" }, Object.entries(r.fields).flatMap(([k, v]) => [el("dt", { text: k.replaceAll("_", " ") }), el("dd", { text: typeof v === "string" ? v : JSON.stringify(v) })]));
    const lines = r.price.lines.map((l) => `${l.label} ${money(l.amount, r.price.currency)}`).join(" · ");
    const mod = r.moderation ? `${r.moderation.decision}${r.moderation.reasons?.length ? `: ${r.moderation.reasons.map((x) => `${x.rule} (${x.field})`).join(", ")}` : ""}` : "";
    const triage = r.triage ? `${r.triage.intent} (score ${r.triage.score})` : "";
    const who = r.identity ? `${r.identity.provider}: ${r.identity.name ?? r.identity.email ?? r.identity.sub}` : r.fan_email ?? "anonymous";
    const card = el("article", { class: "card req", "data-id": r.id, "aria-label": `Request ${title}` },
      el("header", {}, el("h3", { text: title }), el("span", { class: `badge ${r.status}`, text: r.status.replaceAll("_", " ") }), r.priority && el("span", { class: "badge priority", text: "priority" }),
        el("span", { class: "muted", text: `${r.app} · ${when(r.created_at)}` })),
      fields,
      el("p", {}, el("strong", { text: r.price.amount ? money(r.price.amount, r.price.currency) : "Free" }), lines && ` — ${lines}`, r.price.refunded ? ` (refunded ${money(r.price.refunded, r.price.currency)})` : "", r.paid_with !== "none" ? ` · ${r.paid_with}` : ""),
      el("p", { class: "muted" }, `From ${who}`, mod && ` · moderation ${mod}`, triage && ` · triage ${triage}`));
    const details = el("div", {});
    card.append(details, actionsFor(r, details));
    return card;
  }

  function actionsFor(r, details) {
    const base = `/apps/${r.app}/api/requests/${r.id}`;
    const act = (label, run, cls) => el("button", { type: "button", class: cls, text: label, onclick: async () => {
      busy = true;
      let outcome = null;
      try {
        if ((await run()) !== false) outcome = [`${label}: done.`, false];
      } catch (err) {
        outcome = [`${label}: ${err.message}`, true];
      }
      // An open card shows the request as it is now (its history has a new step).
      if (outcome && state.details.has(r.id)) state.details.set(r.id, await api(base).catch(() => null));
      busy = false;
      if (outcome && state.tab === "queue") await show("queue");
      if (outcome) flash(...outcome);
    } });
    const post = (path, json, headers) => api(`${base}/${path}`, { method: "POST", json: json ?? {}, headers });
    const buttons = [];
    const s = r.status;
    if (s === "held_for_review") buttons.push(act("Approve", () => post("approve")), act("Reject", () => (confirm("Reject this request? A paid request is refunded in full.") ? post("reject") : false), "danger"));
    if (["queued", "authorized", "paid"].includes(s)) {
      buttons.push(act("Accept", () => (r.price.amount && s === "authorized" && !confirm(`Accept and charge ${money(r.price.amount, r.price.currency)}?`) ? false : post("accept"))));
      // A payment already taken is given back by refunding what is left (the API declines only
      // free, held or credit requests); the key makes a double click refund once.
      const left = r.price.amount - r.price.refunded;
      const charged = s !== "authorized" && left > 0 && ["stripe", "paypal"].includes(r.paid_with);
      buttons.push(act("Decline", () => {
        if (charged) return confirm(`Decline and refund ${money(left, r.price.currency)} to the fan?`) ? post("refund", { reason: "declined" }, { "idempotency-key": `console-decline-${r.id}` }) : false;
        return confirm(s === "authorized" ? `Decline and release the hold of ${money(r.price.amount, r.price.currency)}?` : "Decline this request?") ? post("decline") : false;
      }, "danger"));
    }
    if (["queued", "accepted"].includes(s)) buttons.push(act("Complete", () => {
      const note = prompt("A note for the fan (optional):", "");
      return note === null ? false : post("complete", note ? { note } : {});
    }));
    if (s === "fulfilled") buttons.push(act("Close", () => post("close")));
    if (r.price.amount > r.price.refunded && r.paid_with !== "none" && ["queued", "accepted", "fulfilled", "closed", "paid", "disputed"].includes(s)) {
      buttons.push(act("Refund", () => {
        const left = r.price.amount - r.price.refunded;
        const text = prompt(`Refund how much? Up to ${(left / 100).toFixed(2)} ${r.price.currency.toUpperCase()}.`, (left / 100).toFixed(2));
        if (text === null) return false;
        const cents = Math.round(Number(text.replace(",", ".")) * 100);
        if (!Number.isInteger(cents) || cents <= 0) throw new Error("Enter an amount such as 2.50.");
        if (!confirm(`Refund ${money(cents, r.price.currency)} to the fan?`)) return false;
        return post("refund", { amount: cents }, { "idempotency-key": `console-${r.id}-${r.price.refunded}-${cents}` });
      }, "secondary"));
    }
    const open = state.details.has(r.id);
    buttons.push(el("button", { type: "button", class: "secondary", text: open ? "Hide details" : "Details", "aria-expanded": String(open), onclick: async () => {
      if (state.details.has(r.id)) state.details.delete(r.id);
      else state.details.set(r.id, await api(base).catch((err) => (flash(err.message, true), null)));
      if (state.tab === "queue") show("queue");
    } }));
    if (open && state.details.get(r.id)) showDetails(details, state.details.get(r.id), base);
    return el("div", { class: "actions" }, buttons);
  }

  function showDetails(into, full, base) {
    const items = full.history.map((h) => el("li", { text: `${when(h.at)} — ${h.status.replaceAll("_", " ")} (${h.actor}${h.reason ? `: ${h.reason}` : ""})` }));
    const files = (full.attachments ?? []).map((a) => {
      const src = `/console/api${new URL(a.url).pathname}`;
      return a.media_type.startsWith("image/")
        ? el("figure", {}, el("img", { class: "attachment", src, alt: `Attachment ${a.field}` }), el("figcaption", { class: "muted", text: `${a.field} · ${a.size} bytes` }))
        : el("p", {}, el("a", { href: src, text: `${a.field} (${a.media_type})` }));
    });
    into.replaceChildren(el("h4", { text: "History" }), el("ol", { class: "history" }, items), ...files,
      el("p", {}, el("a", { href: `/console/api${base}/evidence`, text: "Dispute evidence (JSON)", target: "_blank", rel: "noopener" })));
  }

  // Deliveries and destinations.
  async function deliveriesView() {
    const slug = state.app || state.session.apps[0]?.slug;
    const view = $("view");
    if (!slug) return view.replaceChildren(el("p", { text: "You have no apps yet." }));
    const [{ deliveries }, { destinations }] = await Promise.all([api(`/api/apps/${slug}/deliveries`), api(`/api/apps/${slug}/destinations`)]);
    const replay = (id) => api(`/api/apps/${slug}/deliveries/${id ? `${id}/` : ""}replay`, { method: "POST" }).then(async (r) => {
      await show("deliveries");
      const n = r.replayed.length;
      flash(`Replayed ${n} ${n === 1 ? "delivery" : "deliveries"}.`);
    }).catch((e) => flash(e.message, true));
    const rows = deliveries.map((d) => el("tr", { "data-id": d.id }, el("td", { text: when(d.created_at) }), el("td", { text: d.event }), el("td", { text: d.destination }), el("td", {}, el("span", { class: `badge ${d.state}`, text: d.state })),
      el("td", { text: String(d.attempts) }), el("td", { text: d.last_error ?? "" }), el("td", {}, d.state === "dead" && el("button", { type: "button", class: "secondary", text: "Replay", onclick: () => replay(d.id) }))));
    const dead = deliveries.filter((d) => d.state === "dead").length;
    view.replaceChildren(el("h1", { text: `Deliveries · ${slug}` }),
      el("p", {}, `${deliveries.length} recent notifications, ${dead} dead. `, dead > 0 && el("button", { type: "button", id: "replay-all", text: "Replay all dead", onclick: () => replay(null) })),
      el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, ["When", "Event", "Destination", "State", "Attempts", "Last error", ""].map((h) => el("th", { scope: "col", text: h })))), el("tbody", {}, rows))),
      destinationsForm(slug, destinations));
  }

  function destinationsForm(slug, destinations) {
    const current = Object.fromEntries(destinations.map((d) => [d.kind, d]));
    const simple = [
      ["discord_webhook_url", "Discord webhook URL", current.discord?.webhook_url],
      ["webhook_url", "Your webhook URL (Standard Webhooks)", current.webhook?.url],
    ];
    const errors = {};
    const inputs = simple.map(([key, label, now]) => {
      const input = el("input", { id: `d-${key}`, type: "url", placeholder: now ?? "not set", "aria-describedby": `e-${key}` });
      errors[key] = el("div", { class: "field-error", id: `e-${key}`, role: "alert" });
      return el("div", {}, el("label", { for: `d-${key}`, text: label }), input, errors[key], now && el("div", { class: "muted", text: `Now: ${now}` }));
    });
    const email = el("input", { id: "d-creator_email", type: "email", placeholder: current.creator_email?.to ?? "not set", "aria-describedby": "e-creator_email" });
    errors.creator_email = el("div", { class: "field-error", id: "e-creator_email", role: "alert" });
    const other = el("textarea", { id: "d-other", rows: 3, placeholder: '{"trello": {"key": "...", "token": "...", "list_id": "..."}}' });
    errors.other = el("div", { class: "field-error", role: "alert" });
    const sendTest = async (kind) => {
      try {
        const r = await api(`/api/apps/${slug}/destinations/${kind}/test`, { method: "POST" });
        flash(r.delivered ? `Test event to ${kind}: delivered (HTTP ${r.status}).` : `Test event to ${kind} failed: ${r.error}`, !r.delivered);
      } catch (err) {
        flash(err.message, true);
      }
    };
    const listed = destinations.map((d) => el("li", { "data-kind": d.kind }, `${d.kind}${d.enabled ? "" : " (disabled)"}: ${JSON.stringify(Object.fromEntries(Object.entries(d).filter(([k]) => !["kind", "enabled"].includes(k))))} `,
      el("button", { type: "button", class: "secondary", text: "Send a test event", "aria-label": `Send a test event to ${d.kind}`, onclick: () => sendTest(d.kind) })));
    return el("form", { class: "card", id: "destinations", onsubmit: async (e) => {
      e.preventDefault();
      for (const node of Object.values(errors)) node.textContent = "";
      const body = {};
      for (const [key] of simple) if ($(`d-${key}`).value.trim()) body[key] = $(`d-${key}`).value.trim();
      if (email.value.trim()) body.creator_email = { to: email.value.trim() };
      if (other.value.trim()) {
        try { Object.assign(body, JSON.parse(other.value)); } catch { errors.other.textContent = "Not valid JSON."; return; }
      }
      try {
        await api(`/api/apps/${slug}/destinations`, { method: "PUT", json: body });
        await deliveriesView();
        flash("Destinations saved.");
      } catch (err) {
        const key = Object.keys(errors).find((k) => err.message.startsWith(`${k}:`)) ?? (err.message.startsWith("discord:") ? "discord_webhook_url" : err.message.startsWith("webhook:") ? "webhook_url" : "other");
        errors[key].textContent = err.message;
      }
    } }, el("h2", { text: "Destinations" }), el("p", { class: "muted", text: "Credentials are masked. Leave a field empty to keep it." }), el("ul", {}, listed), ...inputs,
      el("label", { for: "d-creator_email", text: "Email me new requests at" }), email, errors.creator_email,
      el("label", { for: "d-other", text: "Other destinations (JSON: trello, sms, notion, airtable; null removes one)" }), other, errors.other,
      el("div", { class: "actions" }, el("button", { type: "submit", text: "Save destinations" })));
  }

  // Limits, open/closed and the block list.
  async function limitsView() {
    const slug = state.app || state.session.apps[0]?.slug;
    const view = $("view");
    if (!slug) return view.replaceChildren(el("p", { text: "You have no apps yet." }));
    const [limits, status, { blocklist }, lifecycle] = await Promise.all([api(`/api/apps/${slug}/limits`), fetch(`/apps/${slug}/api/status`).then((r) => r.json()), api("/api/blocklist"), api(`/api/apps/${slug}/state`)]);
    const field = (key, label) => el("div", {}, el("label", { for: `l-${key}`, text: label }), el("input", { id: `l-${key}`, type: "number", min: 0, step: 1, value: limits.limits[key] ?? "", placeholder: "no limit" }));
    const save = async (patch) => {
      const body = {};
      for (const key of ["capacity", "max_open_per_fan", "max_per_fan_per_day"]) {
        const v = patch && key in patch ? patch[key] : $(`l-${key}`).value;
        if (v !== "" && v !== null && v !== undefined) body[key] = Number(v);
      }
      try {
        await api(`/api/apps/${slug}/limits`, { method: "PUT", json: body });
        await limitsView();
        flash("Limits saved.");
      } catch (err) {
        flash(err.message, true);
      }
    };
    const open = status.open;
    // Paused, draft or archived: the lifecycle below decides, not the capacity.
    const byState = !["live", "invite_only"].includes(lifecycle.state);
    const reason = el("input", { id: "b-reason", type: "text", maxLength: 200 });
    view.replaceChildren(el("h1", { text: `Limits & safety · ${slug}` }),
      el("section", { class: "card", "aria-labelledby": "form-state" }, el("h2", { id: "form-state", text: `The form is ${open ? "open" : "closed"}${byState ? ` (the app is ${lifecycle.state})` : ""}` }),
        el("p", { id: "queue-size", text: `${status.in_queue} in the queue${status.capacity !== null && status.capacity !== undefined ? ` of a capacity of ${status.capacity}` : ", no capacity set"}.` }),
        byState ? el("p", { class: "muted", text: "Change the app's state under Lifecycle to open it again." }) :
          el("button", { type: "button", id: "toggle-form", class: open ? "danger" : "", text: open ? "Close the form now" : "Open the form", onclick: () => save({ capacity: open ? 0 : "" }) })),
      el("form", { class: "card", id: "limits-form", onsubmit: (e) => (e.preventDefault(), save()) }, el("h2", { text: "Limits" }), el("p", { class: "muted", text: `From ${limits.source}. A full queue closes the form until you catch up.` }),
        field("capacity", "Queue capacity"), field("max_open_per_fan", "Open requests per fan"), field("max_per_fan_per_day", "Requests per fan per day"), el("div", { class: "actions" }, el("button", { type: "submit", text: "Save limits" }))),
      el("form", { class: "card", id: "block-form", onsubmit: async (e) => {
        e.preventDefault();
        try {
          await api("/api/blocklist", { method: "POST", json: { kind: $("b-kind").value, value: $("b-value").value, reason: reason.value || undefined } });
          show("limits");
        } catch (err) { flash(err.message, true); }
      } }, el("h2", { text: "Block list (all your apps)" }),
        el("ul", {}, blocklist.map((b) => el("li", {}, `${b.kind}: ${b.value}${b.reason ? ` — ${b.reason}` : ""} `, el("button", { type: "button", class: "secondary", text: "Unblock", "aria-label": `Unblock ${b.value}`, onclick: () => api(`/api/blocklist/${b.kind}/${encodeURIComponent(b.value)}`, { method: "DELETE" }).then(() => show("limits")).catch((e) => flash(e.message, true)) })))),
        el("label", { for: "b-kind", text: "Kind" }), el("select", { id: "b-kind" }, ["email", "ip", "fan"].map((k) => el("option", { value: k, text: k }))),
        el("label", { for: "b-value", text: "Value" }), el("input", { id: "b-value", type: "text", required: true }),
        el("label", { for: "b-reason", text: "Reason (optional)" }), reason, el("div", { class: "actions" }, el("button", { type: "submit", text: "Block" }))),
      lifecycleCard(slug, lifecycle));
  }

  // The app's lifecycle: its state with the fans' message, invite links, the preview link.
  function lifecycleCard(slug, lc) {
    const STATES = { draft: "Draft (only you, through the preview link)", live: "Live (in the catalog)", paused: "Paused (the form says so)", invite_only: "Invite only (not listed)", archived: "Archived (closed for good)" };
    const pick = el("select", { id: "s-state" }, Object.entries(STATES).map(([v, t]) => el("option", { value: v, text: t })));
    pick.value = lc.state;
    const message = el("input", { id: "s-message", type: "text", maxLength: 500, value: lc.message ?? "", placeholder: "Back on Monday!" });
    const why = el("input", { id: "s-reason", type: "text", maxLength: 500 });
    const plan = el("select", { id: "s-plan" }, [["fulfil", "I still fulfil them"], ["refund", "Refund them in full"], ["move", "Refund them and point fans to another app"]].map(([v, t]) => el("option", { value: v, text: t })));
    const others = state.session.apps.filter((a) => a.slug !== slug);
    const next = el("select", { id: "s-successor" }, others.map((a) => el("option", { value: a.slug, text: a.title })));
    const archiving = el("div", { id: "archive-options", hidden: true },
      el("label", { for: "s-plan", text: "Requests still open" }), plan, el("label", { for: "s-successor", text: "Point fans to" }), next);
    pick.addEventListener("change", () => (archiving.hidden = pick.value !== "archived"));
    const submit = async (e) => {
      e.preventDefault();
      const body = { state: pick.value, ...(message.value.trim() ? { message: message.value.trim() } : {}), ...(why.value.trim() ? { reason: why.value.trim() } : {}) };
      if (pick.value === "archived") {
        body.open_requests = plan.value;
        if (plan.value === "move") body.successor = next.value;
        if (!confirm(`Archive ${slug} for good? Fans with open requests are told what happens to them${plan.value === "fulfil" ? "" : ", and their payments are refunded"}.`)) return;
      }
      try {
        const r = await api(`/api/apps/${slug}/state`, { method: "POST", json: body });
        await show("limits");
        const o = r.open_requests;
        flash(o ? `The app is archived: ${o.notified} fans told; ${o.settled.length} requests settled${o.failed.length ? `, ${o.failed.length} could not be (see the queue)` : ""}.` : `The app is ${r.state.replace("_", " ")}.`);
      } catch (err) { flash(err.message, true); }
    };
    const invites = lc.invites.filter((i) => !i.revoked_at);
    const newLink = el("output", { id: "new-invite" });
    return el("section", { class: "card", "aria-labelledby": "lifecycle-title" },
      el("h2", { id: "lifecycle-title", text: `Lifecycle: ${lc.state.replace("_", " ")}` }),
      lc.state === "archived" ? el("p", { class: "muted", text: "Archived apps take no new requests; payments still settle." }) :
        el("form", { id: "state-form", onsubmit: submit },
          el("label", { for: "s-state", text: "State" }), pick, el("label", { for: "s-message", text: "Message on the form (optional)" }), message,
          el("label", { for: "s-reason", text: "Why (for your history, optional)" }), why, archiving,
          el("div", { class: "actions" }, el("button", { type: "submit", text: "Change state" }))),
      lc.state === "draft" && lc.preview_url && el("p", {}, "Preview link (only for you; requests sent through it are tests): ", el("a", { href: lc.preview_url, text: "open the preview" })),
      el("h3", { text: "Invite links" }),
      el("ul", { id: "invites" }, invites.map((i) => el("li", {}, `${i.label ?? "Invite"} (made ${when(i.created_at)}) `,
        el("button", { type: "button", class: "secondary", text: "Revoke", "aria-label": `Revoke ${i.label ?? i.id}`, onclick: () => api(`/api/apps/${slug}/invites/${i.id}`, { method: "DELETE" }).then(() => show("limits")).then(() => flash("Invite revoked.")).catch((err) => flash(err.message, true)) })))),
      el("form", { id: "invite-form", onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await api(`/api/apps/${slug}/invites`, { method: "POST", json: $("i-label").value.trim() ? { label: $("i-label").value.trim() } : {} });
          await show("limits");
          $("new-invite").replaceChildren("New invite link (shown once): ", el("input", { type: "text", readonly: true, value: r.url, "aria-label": "New invite link", class: "wide" }));
        } catch (err) { flash(err.message, true); }
      } }, el("label", { for: "i-label", text: "Who it is for (optional)" }), el("input", { id: "i-label", type: "text", maxLength: 100 }),
        el("div", { class: "actions" }, el("button", { type: "submit", text: "New invite link" }))), newLink,
      lc.history.length ? el("details", {}, el("summary", { text: "History" }), el("ol", {}, lc.history.map((h) => el("li", { text: `${when(h.at)}: ${h.from} → ${h.to} by ${h.actor}${h.reason ? ` (${h.reason})` : ""}` })))) : false);
  }

  // Numbers.
  function barChart(title, labels, values, format = String) {
    const w = 360, h = 180, pad = 28, n = Math.max(values.length, 1), max = Math.max(1, ...values);
    const bw = (w - pad * 2) / n;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("class", "chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `${title}: ${labels.map((l, i) => `${l} ${format(values[i])}`).join(", ")}`);
    const add = (tag, attrs, text) => {
      const node = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      if (text !== undefined) node.textContent = text;
      svg.append(node);
    };
    add("text", { x: pad, y: 14 }, title);
    values.forEach((v, i) => {
      const bh = ((h - pad * 2 - 10) * v) / max;
      add("rect", { class: "bar", x: pad + i * bw + 2, y: h - pad - bh, width: Math.max(1, bw - 4), height: bh });
      add("text", { x: pad + i * bw + bw / 2, y: h - pad - bh - 3, "text-anchor": "middle" }, format(v));
      add("text", { x: pad + i * bw + bw / 2, y: h - pad + 14, "text-anchor": "middle" }, labels[i]);
    });
    return svg;
  }

  async function kpiView() {
    const params = new URLSearchParams({ days: state.days });
    if (state.app) params.set("app", state.app);
    const { kpis: k, currency } = await api(`/api/kpis?${params}`);
    const period = el("select", { id: "k-days", onchange: (e) => ((state.days = e.target.value), show("kpis")) }, ["7", "30", "90"].map((d) => el("option", { value: d, text: `Last ${d} days` })));
    period.value = state.days;
    const metric = (id, label, value) => el("div", { class: "metric", "data-metric": id }, el("div", { class: "value", text: value }), el("div", { class: "label", text: label }));
    const m = k.revenue.by_model;
    const weeks = k.requests_per_week.map((_, i, a) => (i === a.length - 1 ? "now" : `-${a.length - 1 - i}`));
    $("view").replaceChildren(el("h1", { text: `Numbers${state.app ? ` · ${state.app}` : " · all apps"}` }),
      el("div", { class: "filters" }, el("div", {}, el("label", { for: "k-days", text: "Period" }), period),
        el("a", { id: "export-kpis", href: `/console/api/api/kpis?${params}&format=csv`, download: "kpis.csv", text: "Export KPI table (CSV)" })),
      el("div", { class: "grid" },
        metric("submissions", "Requests", String(k.funnel.submissions)), metric("paid", "Paid requests", String(k.funnel.paid)), metric("views", "Form views", String(k.funnel.views)),
        metric("conversion", "Views → paid", pct(k.funnel.conversion)), metric("net", "Net revenue", money(k.revenue.net, currency)), metric("gross", "Gross revenue", money(k.revenue.gross, currency)),
        metric("refunds", "Refunds", `${k.refunds.count} · ${money(k.refunds.amount, currency)} · ${pct(k.refunds.rate)}`), metric("disputes", "Disputes", `${k.disputes.count} · ${money(k.disputes.amount, currency)} · ${pct(k.disputes.rate)}`),
        metric("median", "Median time to fulfil", duration(k.time_to_fulfilment.median_secs)), metric("p90", "p90 time to fulfil", duration(k.time_to_fulfilment.p90_secs)),
        metric("arpu", "ARPU (net per buyer)", k.arpu === null ? "—" : money(k.arpu, currency)), metric("repeat", "Repeat buyers", `${k.repeat_buyers} of ${k.buyers} · ${pct(k.repeat_buyer_rate)}`),
        metric("rating", "Average rating", k.ratings.count ? `${k.ratings.average} (${k.ratings.count})` : "—")),
      el("div", { class: "charts" },
        barChart("Requests per week (weeks ago)", weeks, k.requests_per_week),
        barChart("Funnel", ["views", "requests", "paid"], [k.funnel.views, k.funnel.submissions, k.funnel.paid]),
        barChart("Time to fulfilment", k.time_to_fulfilment.histogram.map((b) => b.label), k.time_to_fulfilment.histogram.map((b) => b.count))),
      el("h2", { text: "Revenue by model" }),
      el("div", { class: "table-wrap" }, el("table", { id: "revenue" }, el("tbody", {}, [["Pay per request", m.per_request], ["Add-ons", m.add_ons], ["Tips", m.tips], ["Credit packs", m.credit_packs], ["Tiers", m.tiers], ["Auctions", m.auctions], ["Refunded", -k.revenue.refunded], ["Platform fees", -k.revenue.platform_fees], ["Net", k.revenue.net]]
        .map(([label, v]) => el("tr", {}, el("th", { scope: "row", text: label }), el("td", { text: money(v, currency) })))))));
  }

  // API keys.
  async function keysView() {
    const { keys } = await api("/api/creator/keys");
    const name = el("input", { id: "k-name", type: "text", required: true, maxLength: 60 });
    const once = el("div", { id: "new-key", "aria-live": "polite" });
    $("view").replaceChildren(el("h1", { text: "API keys" }), el("p", { class: "muted", text: "Keys let scripts use the creator API. Only the last 4 characters are kept to tell them apart." }),
      el("div", { class: "table-wrap" }, el("table", { id: "keys" }, el("thead", {}, el("tr", {}, ["Name", "Ends in", "Created", "State", ""].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, keys.map((k) => el("tr", {}, el("td", { text: k.name }), el("td", { text: k.last4 ? `…${k.last4}` : "—" }), el("td", { text: when(k.created_at) }), el("td", { text: k.revoked_at ? `revoked ${when(k.revoked_at)}` : "active" }),
          el("td", {}, !k.revoked_at && el("button", { type: "button", class: "danger", text: "Revoke", "aria-label": `Revoke ${k.name}`, onclick: async () => {
            if (!confirm(`Revoke "${k.name}"? Scripts using it stop working at once.`)) return;
            await api(`/api/creator/keys/${k.id}`, { method: "DELETE" }).catch((e) => flash(e.message, true));
            show("keys");
          } }))))))),
      el("form", { class: "card", id: "key-create", onsubmit: async (e) => {
        e.preventDefault();
        try {
          const k = await api("/api/creator/keys", { method: "POST", json: { name: name.value } });
          await keysView();
          $("new-key").replaceChildren(el("p", { text: k.message }), el("p", { class: "key-once", text: k.key }));
        } catch (err) { flash(err.message, true); }
      } }, el("h2", { text: "New key" }), el("label", { for: "k-name", text: "Name" }), name, el("div", { class: "actions" }, el("button", { type: "submit", text: "Create key" })), once));
  }


  // Live: the OBS overlay link, Twitch and YouTube connections, Ko-fi and Patreon.
  async function liveView() {
    const slug = state.app || state.session.apps[0]?.slug;
    const view = $("view");
    if (!slug) return view.replaceChildren(el("p", { text: "You have no apps yet." }));
    const [overlay, twitch, youtube, kofi, patreon] = await Promise.all(["overlay", "twitch", "youtube", "kofi", "patreon"].map((what) => api(`/api/apps/${slug}/${what}`)));
    const again = () => liveView().catch((err) => flash(err.message, true));
    const act = (work, done) => async (e) => {
      e?.preventDefault?.();
      try {
        await work();
        await again();
        if (done) flash(done);
      } catch (err) {
        flash(err.message, true);
      }
    };
    // Consent happens at Twitch or Google, in a new tab; this page shows the result on return.
    const connect = (what) => async () => {
      const body = what === "twitch" && $("tw-title")?.value ? { reward: { title: $("tw-title").value, cost: Number($("tw-cost").value || 500) } } : undefined;
      const started = await api(`/api/apps/${slug}/${what}`, { method: "POST", json: body });
      window.open(started.authorize_url, "_blank", "noopener");
      flash(`Approve on ${what === "twitch" ? "Twitch" : "Google"} in the new tab, then press Refresh.`);
    };
    const noChat = !twitch.command;
    const mapText = (map) => Object.entries(map ?? {}).map(([k, v]) => `${k}=${v}`).join("\n");
    const parseMap = (text, numbers = false) => Object.fromEntries(text.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => l.split("=").map((x) => x.trim())).map(([k, v]) => [k, numbers ? Number(v) : v]));
    const payments = (list) => list.length
      ? el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, ["When", "Kind", "Email", "Amount", "Earned", "Outcome"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, list.slice(0, 10).map((p) => el("tr", {}, el("td", { text: when(p.received_at) }), el("td", { text: p.kind }), el("td", { text: p.email ?? "" }),
          el("td", { text: p.amount ? money(p.amount, p.currency ?? "usd") : "" }), el("td", { text: p.credits ? `${p.credits} credits` : p.tier ?? "" }), el("td", { text: p.outcome.replaceAll("_", " ") }))))))
      : el("p", { class: "muted", text: "Nothing received yet." });

    view.replaceChildren(el("h1", { text: `Live & memberships · ${slug}` }),
      el("section", { class: "card", id: "live-overlay", "aria-labelledby": "h-overlay" }, el("h2", { id: "h-overlay", text: "OBS overlay" }),
        el("p", { class: "muted", text: "Add this link as a Browser source in OBS: now playing and up next, on a transparent background." }),
        el("p", { class: "key-once", id: "overlay-url", text: overlay.url }),
        el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", text: "Copy link", onclick: () => navigator.clipboard?.writeText(overlay.url).then(() => flash("Overlay link copied.")) }),
          el("button", { type: "button", class: "danger", text: "Rotate link", onclick: act(() => confirm("Rotate the overlay link? The old one stops working at once.") && api(`/api/apps/${slug}/overlay/rotate`, { method: "POST" }), "A new overlay link is ready.") }))),
      el("section", { class: "card", id: "live-twitch", "aria-labelledby": "h-twitch" }, el("h2", { id: "h-twitch", text: "Twitch" }),
        noChat ? el("p", { class: "muted", text: "Add a \"chat\" section to this app's manifest (the command and the fields it fills) to take requests from Twitch chat." })
          : twitch.connected
            ? [el("p", { id: "twitch-status", text: `Connected to ${twitch.channel.login}: viewers type ${twitch.command} in chat${twitch.reward_id ? " or redeem your channel-points reward" : ""}.` }),
              el("ul", {}, twitch.subscriptions.map((s) => el("li", {}, `${s.type}: `, el("span", { class: `badge ${s.status === "enabled" ? "queued" : "held_for_review"}`, text: s.status.replaceAll("_", " ") })))),
              el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", text: "Refresh", onclick: again }),
                // A revoked subscription (the broadcaster removed Fanline at Twitch) needs a fresh consent.
                twitch.subscriptions.some((s) => !["enabled", "webhook_callback_verification_pending"].includes(s.status)) &&
                  el("button", { type: "button", id: "twitch-reconnect", text: "Reconnect Twitch", onclick: act(connect("twitch")) }),
                el("button", { type: "button", class: "danger", id: "twitch-disconnect", text: "Disconnect", onclick: act(() => confirm("Disconnect Twitch? Chat commands stop at once.") && api(`/api/apps/${slug}/twitch`, { method: "DELETE" }), "Twitch disconnected.") }))]
            : [el("p", { class: "muted", text: `Viewers will type ${twitch.command} in your chat. Optionally, Fanline creates a channel-points reward whose redemptions become requests (points come back when you decline).` }),
              el("label", { for: "tw-title", text: "Reward title (optional)" }), el("input", { id: "tw-title", type: "text", maxLength: 45, placeholder: "Request a song" }),
              el("label", { for: "tw-cost", text: "Reward cost in points" }), el("input", { id: "tw-cost", type: "number", min: 1, value: 500 }),
              el("div", { class: "actions" }, el("button", { type: "button", id: "twitch-connect", text: "Connect Twitch", onclick: act(connect("twitch")) }),
                el("button", { type: "button", class: "secondary", text: "Refresh", onclick: again }))]),
      el("section", { class: "card", id: "live-youtube", "aria-labelledby": "h-youtube" }, el("h2", { id: "h-youtube", text: "YouTube Live" }),
        noChat ? el("p", { class: "muted", text: "Needs the manifest's \"chat\" section too." })
          : youtube.connected
            ? [el("p", { id: "youtube-status", text: youtube.status === "live" ? `Reading the chat of broadcast ${youtube.broadcast_id}.` : "Waiting for a live broadcast on your channel." }),
              youtube.last_error && youtube.status === "live" ? el("p", { class: "error", text: youtube.last_error }) : null,
              el("p", { class: "muted", text: `Quota today: ${youtube.quota.used} of ${youtube.quota.budget} units.` }),
              el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", text: "Refresh", onclick: again }),
                el("button", { type: "button", class: "danger", text: "Disconnect", onclick: act(() => api(`/api/apps/${slug}/youtube`, { method: "DELETE" }), "YouTube disconnected.") }))]
            : el("div", { class: "actions" }, el("button", { type: "button", id: "youtube-connect", text: "Connect YouTube", onclick: act(connect("youtube")) }),
              el("button", { type: "button", class: "secondary", text: "Refresh", onclick: again }))),
      el("form", { class: "card", id: "kofi-form", "aria-labelledby": "h-kofi", onsubmit: act(() => api(`/api/apps/${slug}/kofi`, { method: "PUT", json: {
        verification_token: $("kf-token").value.trim(),
        credit_price: $("kf-price").value ? Number($("kf-price").value) : undefined,
        tiers: parseMap($("kf-tiers").value),
        shop_items: parseMap($("kf-shop").value, true),
      } }), "Ko-fi settings saved.") },
        el("h2", { id: "h-kofi", text: "Ko-fi" }),
        el("p", { class: "muted", text: kofi.connected ? `Connected. Ko-fi's webhook URL: ${kofi.webhook_url}` : `Set Ko-fi's webhook URL to ${kofi.webhook_url}. Supporters are matched to fans by email.` }),
        el("label", { for: "kf-token", text: "Verification token (from Ko-fi)" }), el("input", { id: "kf-token", class: "wide", type: "password", autocomplete: "off", required: true, placeholder: kofi.connected ? "saved; enter it again to change settings" : "" }),
        el("label", { for: "kf-price", text: "Cents of a donation per credit (empty: donations earn no credits)" }), el("input", { id: "kf-price", type: "number", min: 1, value: kofi.settings?.credit_price ?? "" }),
        el("label", { for: "kf-tiers", text: "Membership tiers, one per line: Ko-fi tier name = app tier id" }), el("textarea", { id: "kf-tiers", class: "wide", rows: 2, value: mapText(kofi.settings?.tiers) }),
        el("label", { for: "kf-shop", text: "Shop items, one per line: item code = credits" }), el("textarea", { id: "kf-shop", class: "wide", rows: 2, value: mapText(kofi.settings?.shop_items) }),
        el("div", { class: "actions" }, el("button", { type: "submit", text: "Save Ko-fi" }), kofi.connected && el("button", { type: "button", class: "danger", text: "Disconnect", onclick: act(() => api(`/api/apps/${slug}/kofi`, { method: "DELETE" }), "Ko-fi disconnected.") })),
        el("h3", { text: "Latest payments" }), payments(kofi.payments)),
      el("form", { class: "card", id: "patreon-form", "aria-labelledby": "h-patreon", onsubmit: act(() => api(`/api/apps/${slug}/patreon`, { method: "PUT", json: {
        webhook_secret: $("pt-secret").value, campaign_id: $("pt-campaign").value.trim(), tiers: parseMap($("pt-tiers").value),
      } }), "Patreon settings saved.") },
        el("h2", { id: "h-patreon", text: "Patreon" }),
        el("p", { class: "muted", text: patreon.connected ? `Connected. Patrons sign in at ${patreon.sign_in_url}` : `Add a webhook in Patreon pointing at ${patreon.webhook_url} (pledge create, update, delete).` }),
        el("label", { for: "pt-secret", text: "Webhook secret (from Patreon)" }), el("input", { id: "pt-secret", class: "wide", type: "password", autocomplete: "off", required: true, placeholder: patreon.connected ? "saved; enter it again to change settings" : "" }),
        el("label", { for: "pt-campaign", text: "Campaign id" }), el("input", { id: "pt-campaign", type: "text", required: true, value: patreon.settings?.campaign_id ?? "" }),
        el("label", { for: "pt-tiers", text: "Tiers, one per line: Patreon tier id = app tier id" }), el("textarea", { id: "pt-tiers", class: "wide", rows: 2, required: true, value: mapText(patreon.settings?.tiers) }),
        el("div", { class: "actions" }, el("button", { type: "submit", text: "Save Patreon" }), patreon.connected && el("button", { type: "button", class: "danger", text: "Disconnect", onclick: act(() => api(`/api/apps/${slug}/patreon`, { method: "DELETE" }), "Patreon disconnected.") })),
        el("h3", { text: "Latest events" }), payments(patreon.payments)));
  }

  const VIEWS = { queue: queueView, deliveries: deliveriesView, limits: limitsView, live: liveView, kpis: kpiView, keys: keysView };
  start();
})();
