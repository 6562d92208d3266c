// Twilio's Messages API (SMS): the same paths, authentication, validation
// errors and resource shapes as the real API, with a call log (`GET /_calls`) so tests can
// check the wire format.
import { hex, send, startApi } from "./server.mjs";

/** Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`. */
export async function startTwilio({ port = 0 } = {}) {
  const accountSid = `AC${hex(32)}`;
  const authToken = hex(32);
  const messages = [];
  const api = await startApi(port, (call, res) => {
    const error = (status, code, message) => send(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(call.path);
    if (call.headers.authorization !== expected) return error(401, 20003, "Authenticate");
    if (!m || m[1] !== accountSid || call.method !== "POST") return error(404, 20404, `The requested resource ${call.path} was not found`);
    if (!String(call.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) return error(400, 21602, "Message body is required.");
    const { To, From, Body } = call.form;
    if (!To) return error(400, 21604, "A 'To' phone number is required.");
    if (!/^\+[1-9]\d{7,14}$/.test(To)) return error(400, 21211, `The 'To' number ${To} is not a valid phone number.`);
    if (!From) return error(400, 21603, "A 'From' phone number is required.");
    if (!Body) return error(400, 21602, "Message body is required.");
    if (Body.length > 1600) return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
    const sid = `SM${hex(32)}`;
    const message = { sid, account_sid: accountSid, to: To, from: From, body: Body, status: "queued", direction: "outbound-api", num_segments: String(Math.ceil(Body.length / 153) || 1), api_version: "2010-04-01", date_created: new Date().toUTCString(), uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json` };
    messages.push(message);
    return send(res, 201, message);
  });
  return { ...api, accountSid, authToken, messages, from: "+15005550006", to: "+15551234567" };
}
