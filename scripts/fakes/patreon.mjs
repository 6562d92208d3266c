// Patreon's member webhooks as Patreon sends them: a JSON:API `member` document, the trigger in
// `X-Patreon-Event`, and `X-Patreon-Signature`, the hex HMAC-MD5 of the raw body keyed by the
// webhook's secret (computed here with Node's crypto, independently of Fanline's verifier).
import crypto from "node:crypto";
import { deliverWebhook } from "./server.mjs";

/** A member document for `campaignId`; `attributes` and `tiers` describe the pledge. */
export function patreonMember({ memberId = crypto.randomUUID(), userId, campaignId, tiers = [], attributes = {} }) {
  const now = new Date().toISOString().replace("Z", "+00:00");
  return {
    data: {
      type: "member",
      id: memberId,
      attributes: {
        campaign_lifetime_support_cents: 500,
        currently_entitled_amount_cents: 500,
        email: "patron@example.com",
        full_name: "Pat Ron",
        is_follower: false,
        last_charge_date: now,
        last_charge_status: "Paid",
        lifetime_support_cents: 500,
        note: "",
        patron_status: "active_patron",
        pledge_cadence: 1,
        pledge_relationship_start: now,
        will_pay_amount_cents: 500,
        ...attributes,
      },
      relationships: {
        address: { data: null },
        campaign: { data: { id: campaignId, type: "campaign" }, links: { related: `https://www.patreon.com/api/oauth2/v2/campaigns/${campaignId}` } },
        currently_entitled_tiers: { data: tiers.map((id) => ({ id, type: "tier" })) },
        user: { data: { id: userId, type: "user" }, links: { related: `https://www.patreon.com/api/oauth2/v2/user/${userId}` } },
      },
    },
    included: [],
    links: { self: `https://www.patreon.com/api/oauth2/v2/members/${memberId}` },
  };
}

export const patreonSignature = (secret, body) => crypto.createHmac("md5", secret).update(body).digest("hex");

/** Posts the document as Patreon does for `trigger` (e.g. `members:pledge:create`). */
export function sendPatreon(url, { trigger, document, secret, body = JSON.stringify(document), signature = patreonSignature(secret, body) }) {
  return deliverWebhook(url, { "content-type": "application/json", "x-patreon-event": trigger, "x-patreon-signature": signature }, body);
}
