// A local server speaking the slice of PayPal's REST API that Fanline uses: OAuth client
// credentials, Orders v2 (create, approve page, capture), capture refunds, and
// verify-webhook-signature. Webhooks are signed the way PayPal signs them (SHA256withRSA over
// `transmission_id|transmission_time|webhook_id|crc32(body)`, with a certificate served at
// cert_url) and verified the same way. No registry package offers a PayPal stand-in.
import crypto from "node:crypto";
import zlib from "node:zlib";
import { listen, readBody, send } from "./server.mjs";

const id = (prefix) => `${prefix}${crypto.randomBytes(8).toString("hex").toUpperCase()}`;

export async function startPaypal({ port = 0, clientId = "fanline-local-client", clientSecret = "fanline-local-secret", webhookId = "WH-FANLINE-LOCAL" } = {}) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const tokens = new Set();
  const orders = new Map();
  const captures = new Map();
  const idempotent = new Map();
  const calls = [];
  const webhookUrls = [];
  let base;

  const crc32 = (text) => zlib.crc32(Buffer.from(text, "utf8")) >>> 0;
  const signed = (transmissionId, time, body) => `${transmissionId}|${time}|${webhookId}|${crc32(body)}`;

  async function deliver(event, { times = 1, tamper = false } = {}) {
    const body = JSON.stringify(event);
    const results = [];
    for (const url of webhookUrls) {
      for (let i = 0; i < times; i++) {
        const transmissionId = crypto.randomUUID();
        const time = new Date().toISOString();
        const sig = crypto.sign("sha256", Buffer.from(signed(transmissionId, time, body)), privateKey).toString("base64");
        const r = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "paypal-auth-algo": "SHA256withRSA",
            "paypal-cert-url": `${base}/v1/notifications/certs/CERT-local`,
            "paypal-transmission-id": transmissionId,
            "paypal-transmission-sig": sig,
            "paypal-transmission-time": time,
          },
          body: tamper ? body.replace('"id":"WH-', '"id":"WH-FORGED-') : body,
        });
        results.push({ status: r.status, body: await r.json().catch(() => null) });
      }
    }
    return results;
  }

  /** Sends `event` shortly after the call that caused it; a gone endpoint is a failed attempt, not a crash. */
  const deliverLater = (event) => setTimeout(() => deliver(event).catch(() => {}), 30);

  const event = (event_type, resource) => ({ id: id("WH-"), event_version: "1.0", create_time: new Date().toISOString(), resource_type: event_type.split(".")[1].toLowerCase(), event_type, resource });

  /** The fan approves on PayPal's page; PayPal tells the webhook and sends the fan back. */
  async function approve(orderId, { notify = true } = {}) {
    const order = orders.get(orderId);
    if (order.status === "PAYER_ACTION_REQUIRED") order.status = "APPROVED";
    const e = event("CHECKOUT.ORDER.APPROVED", structuredClone(order));
    return { order, event: e, deliveries: notify ? await deliver(e) : [] };
  }

  function refund(captureId, value) {
    const capture = captures.get(captureId);
    const cents = (v) => Math.round(Number(v) * 100);
    const left = cents(capture.amount.value) - capture.refunded;
    const amount = value === undefined ? left : cents(value);
    if (!(amount > 0) || amount > left) return { error: "REFUND_AMOUNT_EXCEEDED" };
    capture.refunded += amount;
    const r = { id: id("R"), status: "COMPLETED", amount: { value: (amount / 100).toFixed(2), currency_code: capture.amount.currency_code }, custom_id: capture.custom_id, links: [{ rel: "up", href: `${base}/v2/payments/captures/${captureId}`, method: "GET" }] };
    deliverLater(event("PAYMENT.CAPTURE.REFUNDED", r));
    return { refund: r };
  }

  const server = await listen(async (req, res) => {
    const url = new URL(req.url, base);
    const raw = (await readBody(req)).toString();
    const auth = req.headers.authorization ?? "";
    const requestId = req.headers["paypal-request-id"] ?? null;
    const json = () => (raw ? JSON.parse(raw) : {});
    const fail = (status, name, message) => send(res, status, { name, message, debug_id: id("") });
    if (url.pathname.startsWith("/v1/") || url.pathname.startsWith("/v2/")) calls.push({ method: req.method, path: url.pathname, body: raw, requestId });

    if (req.method === "POST" && url.pathname === "/v1/oauth2/token") {
      const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
      if (auth !== expected) return send(res, 401, { error: "invalid_client", error_description: "Client Authentication failed" });
      const token = id("A21AA");
      tokens.add(token);
      return send(res, 200, { scope: "https://uri.paypal.com/services/payments", access_token: token, token_type: "Bearer", app_id: "APP-LOCAL", expires_in: 32400 });
    }
    if (url.pathname.startsWith("/v1/notifications/certs/")) return send(res, 200, publicKey.export({ type: "spki", format: "pem" }));
    if (url.pathname.startsWith("/v1/") || url.pathname.startsWith("/v2/")) {
      if (!tokens.has(auth.replace(/^Bearer /, ""))) return fail(401, "AUTHENTICATION_FAILURE", "Authentication failed due to invalid authentication credentials or a missing Authorization header.");
      if (requestId && idempotent.has(`${url.pathname}|${requestId}`)) {
        const [status, body] = idempotent.get(`${url.pathname}|${requestId}`);
        return send(res, status, body);
      }
    }
    const remember = (status, body) => {
      if (requestId) idempotent.set(`${url.pathname}|${requestId}`, [status, body]);
      return send(res, status, body);
    };
    if (req.method === "POST" && url.pathname === "/v1/notifications/verify-webhook-signature") {
      const b = json();
      let ok = false;
      try {
        ok = b.webhook_id === webhookId && b.auth_algo === "SHA256withRSA" && crypto.verify("sha256", Buffer.from(signed(b.transmission_id, b.transmission_time, JSON.stringify(b.webhook_event))), publicKey, Buffer.from(b.transmission_sig, "base64"));
      } catch {}
      return send(res, 200, { verification_status: ok ? "SUCCESS" : "FAILURE" });
    }
    if (req.method === "POST" && url.pathname === "/v2/checkout/orders") {
      const b = json();
      const unit = b.purchase_units?.[0];
      if (b.intent !== "CAPTURE" || !unit?.amount?.value || !/^\d+(\.\d{1,2})?$/.test(unit.amount.value)) return fail(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.");
      const orderId = id("");
      const ctx = b.payment_source?.paypal?.experience_context ?? {};
      const order = { id: orderId, intent: "CAPTURE", status: "PAYER_ACTION_REQUIRED", purchase_units: [{ reference_id: unit.reference_id, custom_id: unit.custom_id, description: unit.description, amount: unit.amount }], return_url_for_test: ctx.return_url, cancel_url_for_test: ctx.cancel_url, create_time: new Date().toISOString() };
      orders.set(orderId, order);
      return remember(200, { id: orderId, status: order.status, payment_source: { paypal: {} }, links: [{ href: `${base}/v2/checkout/orders/${orderId}`, rel: "self", method: "GET" }, { href: `${base}/checkoutnow?token=${orderId}`, rel: "payer-action", method: "GET" }] });
    }
    const capture = url.pathname.match(/^\/v2\/checkout\/orders\/(\w+)\/capture$/);
    if (req.method === "POST" && capture) {
      const order = orders.get(capture[1]);
      if (!order) return fail(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.");
      if (order.status === "COMPLETED") return fail(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED");
      if (order.status !== "APPROVED") return fail(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED");
      const unit = order.purchase_units[0];
      const c = { id: id("C"), status: "COMPLETED", amount: unit.amount, custom_id: unit.custom_id, refunded: 0, supplementary_data: { related_ids: { order_id: order.id } } };
      captures.set(c.id, c);
      order.status = "COMPLETED";
      unit.payments = { captures: [{ id: c.id, status: c.status, amount: c.amount, custom_id: c.custom_id }] };
      const { refunded, ...resource } = c;
      deliverLater(event("PAYMENT.CAPTURE.COMPLETED", resource));
      return remember(201, { id: order.id, status: "COMPLETED", purchase_units: order.purchase_units });
    }
    const refundMatch = url.pathname.match(/^\/v2\/payments\/captures\/(\w+)\/refund$/);
    if (req.method === "POST" && refundMatch) {
      if (!captures.has(refundMatch[1])) return fail(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.");
      const result = refund(refundMatch[1], json().amount?.value);
      if (result.error) return fail(422, "UNPROCESSABLE_ENTITY", result.error);
      return remember(201, result.refund);
    }
    if (url.pathname === "/checkoutnow") {
      const order = orders.get(url.searchParams.get("token"));
      if (!order) return send(res, 404, "<!doctype html><p>No such order.</p>");
      if (req.method === "POST") {
        await approve(order.id, { notify: false });
        const back = new URL(order.return_url_for_test);
        back.searchParams.set("token", order.id);
        back.searchParams.set("PayerID", "LOCALPAYER");
        res.writeHead(303, { location: back.toString() });
        return res.end();
      }
      const unit = order.purchase_units[0];
      return send(res, 200, `<!doctype html><title>Local PayPal</title><body style="font-family:system-ui;max-width:30rem;margin:3rem auto">
        <h1>Local PayPal</h1><p>Approve ${unit.amount.value} ${unit.amount.currency_code} for ${unit.custom_id}.</p>
        <form method="post"><button style="font-size:1.1rem;padding:.6rem 1.2rem">Pay with PayPal</button></form></body>`);
    }
    return fail(404, "RESOURCE_NOT_FOUND", `Unknown route ${req.method} ${url.pathname}`);
  }, port);
  base = server.url;

  return {
    url: base,
    clientId,
    clientSecret,
    webhookId,
    calls,
    orders,
    captures,
    approve,
    /** A refund made in PayPal's dashboard, outside Fanline. */
    refundFromDashboard: (captureId, value) => refund(captureId, value),
    deliver,
    event,
    addWebhookEndpoint: (u) => webhookUrls.push(u),
    close: server.close,
  };
}
