// A local Cloudflare Turnstile siteverify (`POST /turnstile/v0/siteverify`), with Cloudflare's
// documented test secrets: `1x0000000000000000000000000000000AA` always passes,
// `2x0000000000000000000000000000000AA` always fails, `3x0000000000000000000000000000000AA`
// reports the token as already spent. Set `mode` to "down" (503) or "hang" (never answers) to
// test how intake behaves when the verifier does not answer. A token `solved:<hostname>:<action>`
// stands for one a real widget issued, and is answered, with a passing secret, as production
// siteverify answers a real token: with the hostname it was solved on and the widget's action.
// (Test secrets answer every other token with a fake hostname and an empty action.)
import { listen, readBody, send } from "./server.mjs";

export const PASS_SECRET = "1x0000000000000000000000000000000AA";
export const FAIL_SECRET = "2x0000000000000000000000000000000AA";
export const DUMMY_TOKEN = "XXXX.DUMMY.TOKEN.XXXX";

export async function startTurnstile({ port = 0 } = {}) {
  const calls = [];
  const state = { mode: "up" };
  const server = await listen(async (req, res) => {
    const body = new URLSearchParams((await readBody(req)).toString());
    const url = new URL(req.url, "http://x");
    if (req.method !== "POST" || url.pathname !== "/turnstile/v0/siteverify") return send(res, 404, { success: false, "error-codes": ["not-found"] });
    calls.push({ secret: body.get("secret"), response: body.get("response"), remoteip: body.get("remoteip"), idempotency_key: body.get("idempotency_key") });
    if (state.mode === "hang") return; // never answers
    if (state.mode === "down") return send(res, 503, "<html>Service Unavailable</html>");
    const secret = body.get("secret");
    const response = body.get("response");
    const fail = (codes) => send(res, 200, { success: false, "error-codes": codes, messages: [] });
    if (!secret) return fail(["missing-input-secret"]);
    if (!response) return fail(["missing-input-response"]);
    if (secret === FAIL_SECRET || response === "fail") return fail(["invalid-input-response"]);
    if (secret === "3x0000000000000000000000000000000AA") return fail(["timeout-or-duplicate"]);
    if (secret !== PASS_SECRET) return fail(["invalid-input-secret"]);
    const [kind, hostname, action] = response.split(":");
    if (kind === "solved") return send(res, 200, { success: true, challenge_ts: new Date().toISOString(), hostname, "error-codes": [], action: action ?? "", cdata: "" });
    return send(res, 200, { success: true, challenge_ts: new Date().toISOString(), hostname: "example.com", "error-codes": [], action: "", cdata: "" });
  }, port);
  return { url: server.url, calls, state, secret: PASS_SECRET, close: () => { server.server.closeAllConnections?.(); return server.close(); } };
}
