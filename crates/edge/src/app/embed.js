// Fanline embed: mounts one micro-app's form where this script tag stands, inside a shadow
// root so the host page's styles cannot reach it (nor ours leak out).
//
// `<script src=".../embed.js" data-mode="iframe">` mounts the app's iframe embed instead
// (/apps/<slug>/embed), which tells this page its height and results by postMessage.
(() => {
  const app = __FANLINE_MANIFEST__;
  const script = document.currentScript;
  const fanlineOrigin = new URL(script.src).origin;
  if (script.dataset.mode === "iframe") return mountFrame();
  const apiBase = new URL(`/apps/${app.slug}/api/requests`, script.src).href;
  // Inside the iframe embed: messages go to the framing page's origin only, never to "*".
  const inFrame = document.documentElement.hasAttribute("data-fanline-frame") && window.parent !== window;
  const parentOrigin = inFrame ? frameParentOrigin() : null;
  const toParent = (message) => parentOrigin && window.parent.postMessage({ source: "fanline", app: app.slug, ...message }, parentOrigin);
  // Links that leave the form (checkout, status page) open over the whole page, not in the frame.
  const linkTarget = inFrame ? "_top" : "";
  const host = document.createElement("div");
  host.className = "fanline-embed";
  host.dataset.app = app.slug;
  script.parentNode.insertBefore(host, script.nextSibling);
  const root = host.attachShadow({ mode: "open" });

  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    for (const child of children) node.append(child);
    return node;
  };
  const money = (amount, currency) => {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() });
    return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
  };

  root.append(el("style", { textContent: `
    :host { all: initial; display: block; font: 15px/1.45 system-ui, sans-serif; color: #1d1d26; }
    .card { background: #fff; border-radius: 12px; padding: 1.25rem 1.5rem; box-shadow: 0 1px 4px #0002; }
    h2 { margin: 0 0 .25rem; font-size: 1.25rem; } p.lead { margin: 0 0 1rem; color: #555; }
    label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
    input[type=text], input[type=email], input[type=url], textarea, select { width: 100%; box-sizing: border-box; padding: .5rem; border: 1px solid #bbb; border-radius: 6px; font: inherit; }
    textarea { min-height: 5rem; } .help { font-size: .85rem; color: #666; } .error { color: #b00020; font-size: .85rem; }
    .notice { background: #fff4e5; border: 1px solid #f0c27b; border-radius: .5rem; padding: .75rem; margin: 0 0 1rem; }
    .addon { font-weight: normal; display: flex; gap: .5rem; align-items: center; }
    button { margin-top: 1rem; padding: .6rem 1.2rem; border: 0; border-radius: 6px; background: #5865f2; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
    button[disabled] { opacity: .6; } .total { margin-top: .75rem; font-weight: 600; }
    button.sign-in { margin: .5rem .5rem 0 0; padding: .45rem 1rem; background: #2b2d42; } .signed-in { color: #1a7f37; }
    .tips { display: flex; gap: .5rem; margin-bottom: .4rem; } button.tip { margin: 0; padding: .3rem .8rem; background: #eef; color: #1d1d26; }
    input[type=number] { width: 10rem; padding: .5rem; border: 1px solid #bbb; border-radius: 6px; font: inherit; }
    .result a.pay { display: inline-block; margin-top: .75rem; padding: .6rem 1.2rem; border-radius: 6px; background: #1a7f37; color: #fff; text-decoration: none; font-weight: 600; }
  ` }));

  const form = el("form", { className: "card", noValidate: true });
  form.append(el("h2", { textContent: app.title }), el("p", { className: "lead", textContent: app.description }));
  const errorSlots = {};
  for (const field of app.fields) {
    const id = `f-${field.name}`;
    form.append(el("label", { htmlFor: id, textContent: field.label + (field.required ? " *" : "") }));
    let input;
    if (field.type === "textarea") input = el("textarea", { maxLength: field.max_length ?? 2000 });
    else if (field.type === "choice") {
      input = el("select", {}, ...field.options.map((o) => el("option", { value: o.value, textContent: o.price ? `${o.value} (+${money(o.price, app.pricing.currency)})` : o.value })));
      input.addEventListener("change", showTotal);
    }
    else if (field.type === "checkbox") input = el("input", { type: "checkbox", value: "true" });
    else if (field.type === "file") input = el("input", { type: "file", accept: field.accept.join(",") });
    else input = el("input", { type: field.type === "text" ? "text" : field.type, maxLength: field.max_length ?? 500 });
    Object.assign(input, { id, name: field.name, required: !!field.required });
    form.append(input);
    if (field.help) form.append(el("div", { className: "help", textContent: field.help }));
    errorSlots[field.name] = form.appendChild(el("div", { className: "error", role: "alert" }));
  }
  // Bots fill every field; people never see this one.
  if (app.form?.honeypot_field) {
    const trap = el("input", { type: "text", name: app.form.honeypot_field, tabIndex: -1, autocomplete: "off" });
    form.append(el("div", { ariaHidden: "true", style: "position:absolute;left:-10000px;height:0;overflow:hidden" }, trap));
  }
  // When the form was shown, signed by the app, for its minimum fill time.
  const formToken = el("input", { type: "hidden", name: "form_token", value: "" });
  form.append(formToken);
  fetch(new URL(`/apps/${app.slug}/api/form-token`, script.src)).then((r) => r.json()).then((t) => (formToken.value = t.form_token ?? "")).catch(() => {});
  if (app.pricing.providers?.length > 1) {
    const names = { stripe: "Card", paypal: "PayPal" };
    form.append(el("label", { htmlFor: "f-pay-with", textContent: "Pay with" }), el("select", { id: "f-pay-with", name: "pay_with" }, ...app.pricing.providers.map((p) => el("option", { value: p, textContent: names[p] ?? p }))));
  }
  // Cloudflare Turnstile renders in the host page (it cannot live in a shadow root); its token
  // travels in a hidden field of our form.
  const turnstileToken = el("input", { type: "hidden", name: "turnstile_token", value: "" });
  form.append(turnstileToken);
  if (app.turnstile) {
    const widget = document.createElement("div");
    host.after(widget);
    const render = () => window.turnstile.render(widget, { sitekey: app.turnstile.site_key, action: "fanline-intake", callback: (t) => (turnstileToken.value = t) });
    if (window.turnstile) render();
    else document.head.append(Object.assign(document.createElement("script"), { src: "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit", async: true, onload: render }));
  }
  const total = el("div", { className: "total" });
  const addOnInputs = app.pricing.add_ons.map((a) => {
    const box = el("input", { type: "checkbox", name: "add_ons", value: a.id });
    box.addEventListener("change", showTotal);
    form.append(el("label", { className: "addon" }, box, `${a.label} (+${money(a.amount, app.pricing.currency)})`));
    return [box, a];
  });
  errorSlots.add_ons = form.appendChild(el("div", { className: "error", role: "alert" }));

  // Tips are typed in the currency's major unit and sent in its minor unit, as the API takes them.
  const tips = app.pricing.tips;
  const digits = new Intl.NumberFormat(undefined, { style: "currency", currency: app.pricing.currency.toUpperCase() }).resolvedOptions().maximumFractionDigits;
  const tipMinor = el("input", { type: "hidden", name: "tip", value: "" });
  const tipInput = el("input", { type: "number", id: "f-tip", min: 0, step: 1 / 10 ** digits, placeholder: "0" });
  if (tips) {
    form.append(el("label", { htmlFor: "f-tip", textContent: `Tip (${app.pricing.currency.toUpperCase()}, optional)` }));
    const quick = el("div", { className: "tips" }, ...tips.suggested.map((amount) => {
      const b = el("button", { type: "button", className: "tip", textContent: money(amount, app.pricing.currency) });
      b.addEventListener("click", () => { tipInput.value = (amount / 10 ** digits).toFixed(digits); showTotal(); });
      return b;
    }));
    tipInput.addEventListener("input", showTotal);
    form.append(quick, tipInput, tipMinor);
    errorSlots.tip = form.appendChild(el("div", { className: "error", role: "alert" }));
  }
  function showTotal() {
    const tip = Math.round(Number(tipInput.value || 0) * 10 ** digits);
    tipMinor.value = tip > 0 ? String(tip) : "";
    const choices = app.fields.filter((f) => f.type === "choice").reduce((s, f) => {
      const chosen = form.elements[f.name]?.value;
      return s + (f.options.find((o) => o.value === chosen)?.price ?? 0);
    }, 0);
    const sum = addOnInputs.reduce((s, [box, a]) => s + (box.checked ? a.amount : 0), app.pricing.base + choices + Math.max(tip, 0));
    total.textContent = sum === 0 ? "Free" : `Total: ${money(sum, app.pricing.currency)}`;
  }
  showTotal();
  const submit = el("button", { type: "submit", textContent: "Send request" });
  const formError = el("div", { className: "error", role: "alert" });
  form.append(total, submit, formError);
  const result = el("div", { className: "card result", hidden: true });
  // One form view for the creator's funnel (a browser that runs scripts; bots that do not are
  // not counted). A fan looking up their request's status is not a view of the form.
  if (!new URLSearchParams(location.search).has("request")) fetch(new URL(`/apps/${app.slug}/api/views`, script.src), { method: "POST" }).catch(() => {});
  // An invite link (`?invite=`) or the creator's preview link of a draft (`?preview=`) lets
  // this page's requests in; the token travels in a header, never in the form.
  const pageQuery = new URLSearchParams(location.search);
  const access = pageQuery.get("invite") ?? pageQuery.get("preview");
  // The app's state and a full queue close the form; the creator's message says why.
  fetch(new URL(`/apps/${app.slug}/api/status`, script.src)).then((r) => r.json()).then((s) => {
    const closed = {
      paused: `${app.title} is paused and not taking requests right now.`,
      archived: `${app.title} has closed for good and takes no new requests.`,
      draft: access ? "" : `${app.title} is not open yet.`,
      invite_only: access ? "" : `${app.title} takes requests by invitation; use the invite link you were sent.`,
    }[s.state];
    if (closed) {
      // Said first, where a fan looks, and nothing in the form can be used.
      for (const control of form.querySelectorAll("input, textarea, select, button")) control.disabled = true;
      form.querySelector("h2").after(el("p", { className: "notice", role: "status" }, `${closed}${s.message ? ` ${s.message}` : ""}`,
        ...(s.state === "archived" && s.successor ? [" ", el("a", { href: new URL(`/apps/${s.successor}/`, script.src).href, textContent: "The creator continues here." })] : [])));
    } else if (s.state === "draft") {
      form.prepend(el("p", { className: "help preview-note", textContent: "Preview: requests you send here are test requests, left out of the creator's numbers." }));
    } else if (s.open === false) {
      submit.disabled = true;
      formError.textContent = "The queue is full right now; please come back later.";
    }
  }).catch(() => {});
  root.append(form, result);

  // Sign-in from wherever the form is mounted. On the app's own page the provider's session
  // cookie is first-party; on a creator's site (or in the iframe) it is not, so the provider
  // opens in a popup on Fanline's origin, which hands back a one-time token (postMessage, to
  // this page's origin only) that is traded for a session sent as `Fanline-Session`.
  let session = null;
  function signIn(startUrl) {
    const onOwnPage = location.origin === fanlineOrigin && !inFrame;
    const back = onOwnPage ? `${location.pathname}${location.search}` : `/apps/${app.slug}/`;
    const fullPage = () => { (inFrame ? window.top : window).location.href = `${startUrl}?return=${encodeURIComponent(back)}`; };
    if (onOwnPage) return fullPage();
    const popup = window.open(`${startUrl}?popup=${encodeURIComponent(location.origin)}`, "fanline-sign-in", "popup,width=500,height=700");
    // Popups blocked: sign in on the app's own page instead, where the cookie works.
    if (!popup) return fullPage();
    const onMessage = async (event) => {
      const m = event.data;
      if (event.origin !== fanlineOrigin || event.source !== popup || m?.source !== "fanline" || m.app !== app.slug) return;
      window.removeEventListener("message", onMessage);
      if (m.type !== "signed-in") return void (formError.textContent = "The sign-in did not complete; try again.");
      const r = await fetch(new URL(`/apps/${app.slug}/api/session`, script.src), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: m.token }) }).catch(() => null);
      const answer = await r?.json().catch(() => null);
      if (!r?.ok) return void (formError.textContent = answer?.error?.message ?? "The sign-in did not complete; try again.");
      session = answer.session;
      const who = answer.identity.name ?? answer.identity.email ?? answer.identity.sub;
      formError.replaceChildren(el("span", { className: "signed-in", textContent: `Signed in as ${who} (${answer.identity.provider}).` }));
      form.requestSubmit();
    };
    window.addEventListener("message", onMessage);
  }

  // One key per filled-in form: a retry after a network error cannot create a second request.
  let idempotencyKey = crypto.randomUUID();
  form.addEventListener("input", () => { idempotencyKey = crypto.randomUUID(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const slot of Object.values(errorSlots)) slot.textContent = "";
    formError.textContent = "";
    submit.disabled = true;
    try {
      const response = await fetch(apiBase, { method: "POST", body: new FormData(form), headers: { "Idempotency-Key": idempotencyKey, ...(access ? { "Fanline-Access": access } : {}), ...(session ? { "Fanline-Session": session } : {}) }, credentials: "same-origin" });
      const body = await response.json();
      if (response.status === 201) return showResult(body);
      if (body.error?.fields) for (const f of body.error.fields) (errorSlots[f.field] ?? formError).textContent = f.message;
      else if (body.error?.code === "sign_in_required") {
        formError.replaceChildren(body.error.message, ...body.error.sign_in.filter(({ provider }) => provider !== "email").map(({ provider, url }) => {
          const button = el("button", { type: "button", className: "sign-in", textContent: `Sign in with ${provider[0].toUpperCase()}${provider.slice(1)}` });
          button.addEventListener("click", () => signIn(url));
          return button;
        }));
      }
      else formError.textContent = body.error?.message ?? `Request failed (${response.status}).`;
    } catch {
      formError.textContent = "Could not reach the server; your request was not sent. Try again.";
    } finally {
      submit.disabled = false;
    }
  });

  // `?request=<id>` (the status link, or the way back from Stripe Checkout with `paid=1` or
  // `cancelled=1`): show where that request stands instead of an empty form.
  const query = new URLSearchParams(location.search);
  const shown = query.get("request");
  // The fan's key to a request (from their mailed links, or kept by this browser after sending
  // it) is what lets them rate it; the id alone is seen by the creator's team too.
  const keys = {
    get(id) {
      try { return localStorage.getItem(`fanline-key:${id}`); } catch { return null; }
    },
    keep(id, key) {
      try { if (key) localStorage.setItem(`fanline-key:${id}`, key); } catch { /* storage may be off */ }
    },
  };
  if (shown) keys.keep(shown, query.get("key"));
  const STATUS_TEXT = {
    awaiting_payment: "Waiting for payment.",
    held_for_review: "The creator is reviewing your request before it joins the queue.",
    paid: "Payment received.",
    queued: "Your request is in the queue.",
    accepted: "The creator accepted your request.",
    fulfilled: "Your request was fulfilled. Thank you!",
    closed: "This request is closed.",
    rejected: "This request could not be accepted.",
    expired: "The payment window expired; the request was not sent.",
    refunded: "This request was refunded.",
    disputed: "This payment is disputed.",
  };
  if (shown && /^req_[0-9a-f]{32}$/.test(shown)) {
    fetch(`${apiBase}/${shown}`)
      .then((r) => (r.ok ? r.json() : null))
      .then((body) => {
        if (!body) return;
        let message = STATUS_TEXT[body.status] ?? "";
        if (query.has("cancelled") && body.status === "awaiting_payment") message = "Payment was cancelled; your request has not been sent yet.";
        else if (query.has("paid") && body.status === "awaiting_payment") message = "Thanks! Your payment is being confirmed; reload in a moment.";
        else if (query.has("paid") && body.status === "queued") message = "Payment received. Your request is in the queue.";
        showResult({ ...body, message }, "Your request");
      })
      .catch(() => {});
  }

  function ratingForm(id, key) {
    const stars = el("select", { id: "f-rate-stars", name: "stars" }, ...[5, 4, 3, 2, 1].map((n) => el("option", { value: String(n), textContent: `${n} of 5` })));
    const comment = el("textarea", { id: "f-rate-comment", name: "comment", maxLength: 500 });
    const note = el("div", { className: "error", role: "alert" });
    const form = el("form", { id: "rate" }, el("h3", { textContent: "How was it?" }), el("label", { htmlFor: "f-rate-stars", textContent: "Your rating" }), stars,
      el("label", { htmlFor: "f-rate-comment", textContent: "A comment (optional)" }), comment, el("button", { type: "submit", textContent: "Send rating" }), note);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const r = await fetch(`${apiBase}/${id}/rating`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ stars: Number(stars.value), ...(comment.value.trim() ? { comment: comment.value.trim() } : {}), key }) }).catch(() => null);
      const answer = await r?.json().catch(() => null);
      if (r?.ok) form.replaceWith(el("p", { className: "help", textContent: `You rated it ${answer.rating.stars} of 5. Thank you!` }));
      else note.textContent = answer?.error?.message ?? "The rating could not be sent; try again.";
    });
    return form;
  }

  function showResult(body, heading = "Request received") {
    form.hidden = true;
    result.hidden = false;
    result.replaceChildren(el("h2", { textContent: heading }), el("p", { textContent: body.message }),
      el("p", { className: "help", textContent: `Request ${body.id} · status: ${body.status.replaceAll("_", " ")}` }));
    if (body.checkout_url) result.append(el("a", { className: "pay", href: body.checkout_url, target: linkTarget, textContent: `Pay ${money(body.price.amount, body.price.currency)}` }));
    // The fan's status page: place in the queue, the honest estimate, history, and a rating.
    if (body.queue) result.append(el("p", { className: "queue-place", textContent: body.queue.message }));
    if (body.history?.length) {
      result.append(el("ol", { className: "help history" }, ...body.history.map((h) => el("li", { textContent: `${new Date(h.at).toLocaleString()}: ${h.status.replaceAll("_", " ")}` }))));
    }
    const key = body.page_url ? new URL(body.page_url).searchParams.get("key") : keys.get(body.id);
    keys.keep(body.id, key);
    if (["fulfilled", "closed"].includes(body.status) && body.rating === null) {
      result.append(key ? ratingForm(body.id, key) : el("p", { className: "help", textContent: "To rate this request, open the link in your feedback email." }));
    }
    else if (body.rating) result.append(el("p", { className: "help", textContent: `You rated it ${body.rating.stars} of 5. Thank you!` }));
    const statusPage = new URL(`/apps/${app.slug}/?request=${body.id}${key ? `&key=${encodeURIComponent(key)}` : ""}`, script.src).href;
    result.append(el("p", {}, el("a", { href: statusPage, target: linkTarget, textContent: "Where is my request?" })));
    host.dispatchEvent(new CustomEvent("fanline:submitted", { detail: body, bubbles: true }));
    if (heading === "Request received") toParent({ type: "submitted", request: body });
  }

  if (parentOrigin) {
    // The frame's height follows the form's, so the creator's page never shows a scrollbar.
    const report = () => toParent({ type: "resize", height: Math.ceil(document.documentElement.getBoundingClientRect().height) });
    new ResizeObserver(report).observe(document.documentElement);
    report();
  }

  /** The framing page's origin: the browser's own record where it keeps one, else the one
   *  the embed script named (`?parent=`), which postMessage then holds the parent to. */
  function frameParentOrigin() {
    const known = location.ancestorOrigins?.[0];
    if (known && known !== "null") return known;
    try {
      const named = new URL(new URLSearchParams(location.search).get("parent") ?? "");
      return named.protocol === "https:" || named.protocol === "http:" ? named.origin : null;
    } catch {
      return null;
    }
  }

  function mountFrame() {
    const frame = document.createElement("iframe");
    frame.src = `${fanlineOrigin}/apps/${app.slug}/embed?parent=${encodeURIComponent(location.origin)}`;
    frame.title = app.title;
    frame.className = "fanline-embed-frame";
    frame.dataset.app = app.slug;
    Object.assign(frame.style, { border: "0", width: "100%", height: "520px", background: "transparent", colorScheme: "normal" });
    frame.setAttribute("allow", "payment");
    script.parentNode.insertBefore(frame, script.nextSibling);
    window.addEventListener("message", (event) => {
      // Only this frame, from Fanline's origin, speaking Fanline's format, for this app.
      if (event.origin !== fanlineOrigin || event.source !== frame.contentWindow) return;
      const message = event.data;
      if (!message || message.source !== "fanline" || message.app !== app.slug) return;
      if (message.type === "resize" && Number.isFinite(message.height) && message.height > 0) frame.style.height = `${Math.min(message.height, 10000)}px`;
      if (message.type === "submitted") frame.dispatchEvent(new CustomEvent("fanline:submitted", { detail: message.request, bubbles: true }));
    });
  }
})();
