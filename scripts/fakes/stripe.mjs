// A local server speaking the slice of Stripe's API that Fanline uses: Checkout Sessions
// (create, retrieve) and the hosted checkout page whose "Pay" button completes the session
// and sends `checkout.session.completed` to the registered webhook endpoint, signed by the
// official `stripe` library. localstripe (PyPI) has no Checkout Sessions, hence this one.
import crypto from "node:crypto";
import Stripe from "stripe";
import { listen, readBody, send } from "./server.mjs";

const stripe = new Stripe("sk_test_local_signing_only");

/** Parses Stripe's bracketed form encoding (`a[b][0][c]=v`) into nested objects. */
export function parseStripeForm(text) {
  const out = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.split(/\[|\]\[|\]/).filter((p) => p !== "");
    let node = out;
    path.forEach((part, i) => {
      if (i === path.length - 1) node[part] = value;
      else node = node[part] ??= /^\d+$/.test(path[i + 1]) ? [] : {};
    });
  }
  return out;
}

const id = (prefix) => `${prefix}_${crypto.randomBytes(12).toString("hex")}`;

export async function startStripe({ port = 0, secretKeyPrefix = "sk_test_", webhookSecret = `whsec_${crypto.randomBytes(16).toString("hex")}` } = {}) {
  const sessions = new Map();
  const intents = new Map();
  const refunds = new Map();
  const idempotent = new Map();
  // Connected accounts this platform knows (Connect): id -> { id, object, charges_enabled, ... }.
  const accounts = new Map();
  /** A connected account, as Stripe keeps it once onboarding has (or has not) finished. */
  const addAccount = (accountId, { charges_enabled = true } = {}) => {
    const account = { id: accountId, object: "account", type: "express", charges_enabled, payouts_enabled: charges_enabled, details_submitted: charges_enabled, capabilities: { card_payments: charges_enabled ? "active" : "inactive", transfers: charges_enabled ? "active" : "inactive" } };
    accounts.set(accountId, account);
    return account;
  };
  const calls = [];
  const webhookUrls = [];
  let base;

  function error(res, status, type, message) {
    send(res, status, { error: { type, message } });
  }

  async function deliver(event, { times = 1, timestamp } = {}) {
    const payload = JSON.stringify(event);
    const results = [];
    for (const url of webhookUrls) {
      for (let i = 0; i < times; i++) {
        const header = stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret, timestamp });
        const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "stripe-signature": header }, body: payload });
        results.push({ status: r.status, body: await r.json().catch(() => null) });
      }
    }
    return results;
  }

  /**
   * Sends `event` shortly after the API call that caused it, as Stripe does. An endpoint that
   * is gone (a stack stopped right after its last test) is a failed attempt, never a crash.
   */
  const deliverLater = (event) =>
    new Promise((resolve) => setTimeout(() => deliver(event).then(resolve, (e) => resolve([{ status: 0, error: String(e.cause ?? e) }])), eventDelayMs));
  // How long after the API call its event is sent; a test lengthens it to look in between.
  let eventDelayMs = 30;

  function sessionEvent(type, session) {
    return { id: id("evt"), object: "event", api_version: "2025-03-31.basil", created: Math.floor(Date.now() / 1000), type, livemode: false, data: { object: session } };
  }
  const completedEvent = (session) => sessionEvent("checkout.session.completed", session);

  const chargeOf = (intent) => ({ id: intent.latest_charge, object: "charge", payment_intent: intent.id, amount: intent.amount, currency: intent.currency, amount_refunded: intent.amount_refunded, refunded: intent.amount_refunded >= intent.amount, paid: true });

  /**
   * A refund, from the API (its metadata) or the dashboard (none); `refund.created` and
   * `charge.refunded` follow asynchronously, as at Stripe since API version 2024-10-28.
   */
  function refund(intentId, amount, { metadata = {}, reason = null } = {}) {
    const intent = intents.get(intentId);
    if (!intent) return { error: [404, `No such payment_intent: '${intentId}'`] };
    const left = intent.amount - intent.amount_refunded;
    amount = amount === undefined ? left : Number(amount);
    if (!Number.isInteger(amount) || amount <= 0) return { error: [400, "Invalid positive integer"] };
    if (amount > left) return { error: [400, `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`] };
    intent.amount_refunded += amount;
    const r = { id: id("re"), object: "refund", amount, currency: intent.currency, payment_intent: intent.id, charge: intent.latest_charge, status: "succeeded", reason, metadata };
    refunds.set(r.id, r);
    const created = deliverLater(sessionEvent("refund.created", r));
    const event = sessionEvent("charge.refunded", chargeOf(intent));
    const delivered = deliverLater(event);
    return { refund: r, event, delivered, created };
  }

  function dispute(intentId, { reason = "fraudulent" } = {}) {
    const intent = intents.get(intentId);
    const d = { id: id("dp"), object: "dispute", amount: intent.amount, currency: intent.currency, charge: intent.latest_charge, payment_intent: intent.id, reason, status: "needs_response" };
    disputes.set(d.id, d);
    const event = sessionEvent("charge.dispute.created", d);
    return deliver(event).then((deliveries) => ({ dispute: d, event, deliveries }));
  }

  function closeDispute(disputeId, status) {
    const d = disputes.get(disputeId);
    d.status = status;
    const event = sessionEvent("charge.dispute.closed", d);
    return deliver(event).then((deliveries) => ({ event, deliveries }));
  }
  const disputes = new Map();

  /** What Stripe does when a session is left unpaid past its expiry. */
  async function expire(sessionId, options) {
    const session = sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    if (session.status === "open") Object.assign(session, { status: "expired", url: null });
    const event = sessionEvent("checkout.session.expired", session);
    return { event, deliveries: await deliver(event, options) };
  }

  const subscriptions = new Map();
  const DAY = 86400;
  // Stripe's events about one object are created in order even when delivered out of order.
  const lastCreated = new Map();
  function subscriptionEvent(type, sub, created) {
    created ??= Math.max(Math.floor(Date.now() / 1000), (lastCreated.get(sub.id) ?? 0) + 1);
    lastCreated.set(sub.id, Math.max(created, lastCreated.get(sub.id) ?? 0));
    return { ...sessionEvent(type, structuredClone(sub)), created };
  }

  /** A subscription session: Stripe creates the subscription, then reports the session. */
  async function paySubscription(session, options) {
    if (session.status !== "complete") {
      const now = Math.floor(Date.now() / 1000);
      const line = session.line_items_for_test[0];
      const days = line.price_data.recurring?.interval === "year" ? 365 : 30;
      const sub = {
        id: id("sub"), object: "subscription", status: "active", metadata: session.subscription_data_for_test.metadata ?? {},
        application_fee_percent: session.subscription_data_for_test.application_fee_percent ? Number(session.subscription_data_for_test.application_fee_percent) : null,
        transfer_data: session.subscription_data_for_test.transfer_data ?? null,
        items: { object: "list", data: [{ id: id("si"), object: "subscription_item", price: { unit_amount: Number(line.price_data.unit_amount), currency: line.price_data.currency, recurring: { interval: line.price_data.recurring?.interval } }, current_period_start: now, current_period_end: now + days * DAY }] },
      };
      subscriptions.set(sub.id, sub);
      Object.assign(session, { status: "complete", payment_status: "paid", subscription: sub.id });
      await deliver(subscriptionEvent("customer.subscription.created", sub), options);
      await deliver(sessionEvent("invoice.paid", invoiceOf(sub, "subscription_create")), options);
    }
    const event = completedEvent(session);
    return { event, deliveries: await deliver(event, options) };
  }

  /** The paid invoice of one period, in API 2025-03-31's shape, with the PaymentIntent that paid it. */
  function invoiceOf(sub, billingReason) {
    const item = sub.items.data[0];
    const amount = item.price.unit_amount;
    const intent = { id: id("pi"), object: "payment_intent", amount, currency: item.price.currency, status: "succeeded", amount_received: amount, amount_refunded: 0, latest_charge: id("ch"), metadata: {} };
    intents.set(intent.id, intent);
    const paidAt = Math.floor(Date.now() / 1000);
    return {
      id: id("in"), object: "invoice", status: "paid", billing_reason: billingReason, amount_due: amount, amount_paid: amount, currency: item.price.currency,
      application_fee_amount: sub.transfer_data && sub.application_fee_percent != null ? Math.round((amount * sub.application_fee_percent) / 100) : null,
      parent: { type: "subscription_details", subscription_details: { subscription: sub.id, metadata: { ...sub.metadata } } },
      payments: { object: "list", data: [{ object: "invoice_payment", payment: { type: "payment_intent", payment_intent: intent.id }, status: "paid" }] },
      period_start: item.current_period_start, period_end: item.current_period_end, status_transitions: { paid_at: paidAt },
    };
  }

  /** A subscription's next period, paid: the period moves on, then the renewal invoice is paid. */
  async function renewSubscription(subId, options) {
    const sub = subscriptions.get(subId);
    const item = sub.items.data[0];
    const days = item.price.recurring?.interval === "year" ? 365 : 30;
    Object.assign(item, { current_period_start: item.current_period_end, current_period_end: item.current_period_end + days * DAY });
    await deliver(subscriptionEvent("customer.subscription.updated", sub), options);
    const event = sessionEvent("invoice.paid", invoiceOf(sub, "subscription_cycle"));
    return { event, deliveries: await deliver(event, options) };
  }

  /** Stripe's view of a subscription changing (renewal, failed payment, cancellation). */
  function updateSubscription(subId, changes, { type = "customer.subscription.updated", created } = {}) {
    const sub = subscriptions.get(subId);
    Object.assign(sub, changes);
    return subscriptionEvent(type, sub, created);
  }

  /** What the hosted page does when the fan pays: completes the session, tells the webhook. */
  async function pay(sessionId, options) {
    const session = sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    if (session.status === "expired") throw new Error(`session ${sessionId} has expired`);
    if (session.mode === "subscription") return paySubscription(session, options);
    if (session.status !== "complete") {
      // A manual-capture session only authorizes: the PaymentIntent waits in requires_capture
      // and the session stays "unpaid" until the merchant captures.
      const manual = session.capture_method_for_test === "manual";
      const intent = {
        id: id("pi"), object: "payment_intent", amount: session.amount_total, amount_capturable: manual ? session.amount_total : 0,
        amount_received: manual ? 0 : session.amount_total, currency: session.currency, capture_method: manual ? "manual" : "automatic",
        status: manual ? "requires_capture" : "succeeded", latest_charge: id("ch"), amount_refunded: 0, metadata: session.metadata,
        // A destination charge: the connected account is paid, the platform keeps the fee.
        application_fee_amount: session.payment_intent_data_for_test.application_fee_amount ? Number(session.payment_intent_data_for_test.application_fee_amount) : null,
        transfer_data: session.payment_intent_data_for_test.transfer_data ?? null,
      };
      intents.set(intent.id, intent);
      Object.assign(session, { status: "complete", payment_status: manual ? "unpaid" : "paid", payment_intent: intent.id });
    }
    const event = completedEvent(session);
    return { event, deliveries: await deliver(event, options) };
  }

  const server = await listen(async (req, res) => {
    const url = new URL(req.url, base);
    const body = (await readBody(req)).toString();
    const auth = req.headers.authorization ?? "";
    if (url.pathname.startsWith("/v1/")) {
      calls.push({ method: req.method, path: url.pathname, form: parseStripeForm(body), idempotencyKey: req.headers["idempotency-key"] ?? null });
      if (!auth.startsWith(`Bearer ${secretKeyPrefix}`)) return error(res, 401, "invalid_request_error", "Invalid API Key provided.");
    }
    if (req.method === "POST" && url.pathname === "/v1/checkout/sessions") {
      const key = req.headers["idempotency-key"];
      if (key && idempotent.has(key)) return send(res, 200, idempotent.get(key));
      const form = parseStripeForm(body);
      const lines = form.line_items ?? [];
      if (!["payment", "subscription", "setup"].includes(form.mode)) return error(res, 400, "invalid_request_error", "Missing required param: mode.");
      if (!form.success_url) return error(res, 400, "invalid_request_error", "Missing required param: success_url.");
      if (lines.length === 0) return error(res, 400, "invalid_request_error", "Missing required param: line_items.");
      let amount = 0;
      const currencies = new Set();
      for (const line of lines) {
        const unit = Number(line.price_data?.unit_amount);
        if (!Number.isInteger(unit) || unit < 0) return error(res, 400, "invalid_request_error", "Invalid integer: unit_amount.");
        amount += unit * Number(line.quantity ?? 1);
        currencies.add(line.price_data.currency);
      }
      if (currencies.size !== 1) return error(res, 400, "invalid_request_error", "All line items must share one currency.");
      const sessionId = id("cs_test");
      const session = {
        id: sessionId,
        object: "checkout.session",
        mode: form.mode,
        status: "open",
        payment_status: "unpaid",
        amount_total: amount,
        amount_subtotal: amount,
        currency: [...currencies][0],
        client_reference_id: form.client_reference_id ?? null,
        customer_email: form.customer_email ?? null,
        metadata: form.metadata ?? {},
        success_url: form.success_url,
        capture_method_for_test: form.payment_intent_data?.capture_method ?? "automatic",
        payment_intent_data_for_test: form.payment_intent_data ?? {},
        subscription_data_for_test: form.subscription_data ?? {},
        subscription: null,
        cancel_url: form.cancel_url ?? null,
        payment_intent: null,
        url: `${base}/c/pay/${sessionId}`,
        livemode: false,
        created: Math.floor(Date.now() / 1000),
        line_items_for_test: lines,
      };
      sessions.set(sessionId, session);
      if (key) idempotent.set(key, session);
      return send(res, 200, session);
    }
    if (req.method === "POST" && url.pathname === "/v1/refunds") {
      const key = req.headers["idempotency-key"];
      if (key && idempotent.has(key)) return send(res, 200, idempotent.get(key));
      const form = parseStripeForm(body);
      const result = refund(form.payment_intent, form.amount, { metadata: form.metadata ?? {} });
      if (result.error) return error(res, result.error[0], "invalid_request_error", result.error[1]);
      const r = result.refund;
      if (key) idempotent.set(key, r);
      return send(res, 200, r);
    }
    const charge = req.method === "GET" && url.pathname.match(/^\/v1\/charges\/(\w+)$/);
    if (charge) {
      const intent = [...intents.values()].find((i) => i.latest_charge === charge[1]);
      if (!intent) return error(res, 404, "invalid_request_error", `No such charge: '${charge[1]}'`);
      return send(res, 200, chargeOf(intent));
    }
    const pi = url.pathname.match(/^\/v1\/payment_intents\/(\w+)(?:\/(capture|cancel))?$/);
    if (pi) {
      const intent = intents.get(pi[1]);
      if (!intent) return error(res, 404, "invalid_request_error", `No such payment_intent: '${pi[1]}'`);
      if (req.method === "GET" && !pi[2]) return send(res, 200, intent);
      const key = req.headers["idempotency-key"];
      if (key && idempotent.has(key)) return send(res, 200, idempotent.get(key));
      if (intent.status !== "requires_capture") {
        return error(res, 400, "invalid_request_error", `This PaymentIntent could not be ${pi[2] === "capture" ? "captured" : "canceled"} because it has a status of ${intent.status}.`);
      }
      if (pi[2] === "capture") Object.assign(intent, { status: "succeeded", amount_received: intent.amount, amount_capturable: 0 });
      else Object.assign(intent, { status: "canceled", amount_capturable: 0, cancellation_reason: parseStripeForm(body).cancellation_reason ?? null });
      const answer = { ...intent };
      if (key) idempotent.set(key, answer);
      return send(res, 200, answer);
    }
    const accountMatch = url.pathname.match(/^\/v1\/accounts\/(\w+)$/);
    if (req.method === "GET" && accountMatch) {
      const account = accounts.get(accountMatch[1]);
      if (!account) return send(res, 404, { error: { type: "invalid_request_error", code: "resource_missing", message: `No such account: '${accountMatch[1]}'` } });
      return send(res, 200, account);
    }
    const expireMatch = url.pathname.match(/^\/v1\/checkout\/sessions\/(\w+)\/expire$/);
    if (req.method === "POST" && expireMatch) {
      const session = sessions.get(expireMatch[1]);
      if (!session) return error(res, 404, "invalid_request_error", `No such checkout.session: '${expireMatch[1]}'`);
      if (session.status !== "open") return error(res, 400, "invalid_request_error", `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`);
      Object.assign(session, { status: "expired", url: null });
      deliverLater(sessionEvent("checkout.session.expired", session));
      return send(res, 200, session);
    }
    const subMatch = url.pathname.match(/^\/v1\/subscriptions\/(\w+)$/);
    if (subMatch) {
      const sub = subscriptions.get(subMatch[1]);
      if (!sub) return error(res, 404, "invalid_request_error", `No such subscription: '${subMatch[1]}'`);
      if (req.method === "GET") return send(res, 200, sub);
      if (req.method === "DELETE") {
        if (sub.status !== "canceled") {
          const event = updateSubscription(sub.id, { status: "canceled", canceled_at: Math.floor(Date.now() / 1000) }, { type: "customer.subscription.deleted" });
          deliverLater(event);
        }
        return send(res, 200, sub);
      }
    }
    const retrieve = url.pathname.match(/^\/v1\/checkout\/sessions\/([\w]+)$/);
    if (req.method === "GET" && retrieve) {
      const session = sessions.get(retrieve[1]);
      return session ? send(res, 200, session) : error(res, 404, "invalid_request_error", `No such checkout.session: '${retrieve[1]}'`);
    }
    const page = url.pathname.match(/^\/c\/pay\/([\w]+)$/);
    if (page && sessions.has(page[1])) {
      const session = sessions.get(page[1]);
      if (session.status === "expired") return send(res, 410, "<!doctype html><p>This checkout session has expired.</p>");
      if (req.method === "POST") {
        await pay(session.id);
        res.writeHead(303, { location: session.success_url });
        return res.end();
      }
      const price = `${(session.amount_total / 100).toFixed(2)} ${session.currency.toUpperCase()}`;
      return send(res, 200, `<!doctype html><title>Local Stripe Checkout</title><body style="font-family:system-ui;max-width:30rem;margin:3rem auto">
        <h1>Local Stripe Checkout</h1><p>Test payment of <b>${price}</b> for ${session.client_reference_id}.</p>
        <form method="post"><button style="font-size:1.1rem;padding:.6rem 1.2rem">Pay ${price}</button></form></body>`);
    }
    return error(res, 404, "invalid_request_error", `Unrecognized request URL (${req.method}: ${url.pathname}).`);
  }, port);
  base = server.url;

  return {
    url: base,
    secretKey: `${secretKeyPrefix}fanline_local`,
    webhookSecret,
    calls,
    sessions,
    addWebhookEndpoint: (u) => webhookUrls.push(u),
    pay,
    expire,
    intents,
    accounts,
    addAccount,
    subscriptions,
    updateSubscription,
    renewSubscription,
    refunds,
    /** A refund made in Stripe's dashboard, outside Fanline. */
    refundFromDashboard: (intentId, amount, options) => refund(intentId, amount, options),
    /** Sends refund events `ms` after the call instead of 30 ms. */
    delayEvents: (ms) => (eventDelayMs = ms),
    dispute,
    closeDispute,
    deliver,
    completedEvent,
    server: server.server,
    close: server.close,
  };
}
