// Ko-fi's webhook as Ko-fi sends it: a form post (application/x-www-form-urlencoded) whose one
// field, `data`, is the payment as JSON, with the account's verification_token inside.
// Ko-fi offers no signing library or local tool; the shape follows its webhook documentation.
import crypto from "node:crypto";
import { deliverWebhook } from "./server.mjs";

/** A payment like Ko-fi's documented sample; `fields` overrides any key. */
export function kofiPayment(fields = {}) {
  return {
    verification_token: "00000000-0000-0000-0000-000000000000",
    message_id: crypto.randomUUID(),
    timestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    type: "Donation",
    is_public: true,
    from_name: "Jo Example",
    message: "Good luck with the stream!",
    amount: "3.00",
    url: `https://ko-fi.com/Home/CoffeeShop?txid=${crypto.randomUUID()}`,
    email: "jo.example@example.com",
    currency: "USD",
    is_subscription_payment: false,
    is_first_subscription_payment: false,
    kofi_transaction_id: crypto.randomUUID(),
    shop_items: null,
    tier_name: null,
    shipping: null,
    ...fields,
  };
}

/** Posts `payment` to `url` as Ko-fi does. */
export function sendKofi(url, payment) {
  return deliverWebhook(url, { "content-type": "application/x-www-form-urlencoded" }, new URLSearchParams({ data: JSON.stringify(payment) }).toString());
}
