// Identity through OAuth (issue 4, item 4) against oauth2-mock-server, a real OpenID provider
// from npm: authorization code with PKCE (S256) and a one-time state, an HMAC-signed HttpOnly
// session cookie, and the identity stored with the request. A forged state, a replayed
// callback, a reused code and a tampered cookie are all refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const rush = { to_name: "Sam", occasion: "birthday", message: "Happy birthday!", email: "fan@example.com" };
const cookieOf = (response, name) => response.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
const valueOf = (setCookie) => setCookie.split(";")[0].split("=").slice(1).join("=");

/** Walks the sign-in: our start, the provider's authorize (which approves at once), our callback. */
async function signIn(provider = "twitch", app = "shoutout") {
  const start = await fetch(`${f.url}/apps/${app}/auth/${provider}/start?return=/apps/${app}/?from=signin`, { redirect: "manual" });
  assert.equal(start.status, 302);
  const stateCookie = cookieOf(start, "fl_oauth_state");
  const authorize = new URL(start.headers.get("location"));
  const atProvider = await fetch(authorize, { redirect: "manual" });
  const callback = new URL(atProvider.headers.get("location"));
  return { start, stateCookie, authorize, callback };
}

const finish = (callback, stateCookie) => fetch(callback, { redirect: "manual", headers: { cookie: valueOf(stateCookie) ? `fl_oauth_state=${valueOf(stateCookie)}` : "" } });

describe("signing in with OAuth", () => {
  test("the app asks for sign-in only from its price level, with links to each provider", async () => {
    const plain = await f.submit("shoutout", rush);
    assert.equal(plain.status, 201, "1500 is below required_from 2500");
    const r = await f.submit("shoutout", rush, { addOns: ["rush"] });
    assert.equal(r.status, 401);
    assert.equal(r.data.error.code, "sign_in_required");
    assert.deepEqual(r.data.error.sign_in.map((l) => l.provider), ["twitch", "discord", "google", "email"]);
    assert.equal(r.data.error.sign_in[0].url, `${f.url}/apps/shoutout/auth/twitch/start`);
  });

  test("authorization code with PKCE and state gives an HttpOnly session that travels with the request", async () => {
    const { stateCookie, authorize, callback } = await signIn();
    assert.match(stateCookie, /HttpOnly; Secure; SameSite=Lax/);
    assert.match(stateCookie, /Path=\/auth\/twitch\/callback;/, "the state travels to the callback only");
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.match(authorize.searchParams.get("code_challenge"), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(authorize.searchParams.get("state"), valueOf(stateCookie));
    // One callback per provider for every app: the OAuth client lists one redirect URL.
    assert.equal(authorize.searchParams.get("redirect_uri"), `${f.url}/auth/twitch/callback`);
    assert.equal(callback.href.startsWith(`${f.url}/auth/twitch/callback?`), true, callback.href);

    const done = await finish(callback, stateCookie);
    assert.equal(done.status, 303, await done.clone().text());
    assert.equal(done.headers.get("location"), `${f.url}/apps/shoutout/?from=signin`);
    const session = cookieOf(done, "fl_session");
    assert.match(session, /HttpOnly; Secure; SameSite=Lax/);
    const cookie = `fl_session=${valueOf(session)}`;

    const me = await f.request("GET", "/apps/shoutout/api/session", { headers: { cookie } });
    assert.deepEqual([me.data.signed_in, me.data.identity.provider, me.data.identity.sub], [true, "twitch", "johndoe"]);
    const r = await f.submit("shoutout", rush, { addOns: ["rush"], headers: { cookie } });
    assert.equal(r.status, 201, r.text);
    const creator = await f.request("GET", `/apps/shoutout/api/requests/${r.data.id}`, { key: f.owner.apiKey });
    assert.deepEqual([creator.data.identity.provider, creator.data.identity.sub], ["twitch", "johndoe"]);
    const evidence = await f.request("GET", `/apps/shoutout/api/requests/${r.data.id}/evidence`, { key: f.owner.apiKey });
    assert.equal(evidence.data.identity.signed_in.sub, "johndoe");

    // Replaying the same callback (same code and state) is refused: the state is used.
    const replay = await finish(callback, stateCookie);
    assert.equal(replay.status, 400);
    assert.equal((await replay.json()).error.code, "invalid_state");
  });

  test("the marketplace's one callback finishes each sign-in at the app it was started at", async () => {
    // song-request offers Twitch sign-in for its chat; its sign-in comes back to the same URL.
    const { stateCookie, authorize, callback } = await signIn("twitch", "song-request");
    assert.equal(authorize.searchParams.get("redirect_uri"), `${f.url}/auth/twitch/callback`);
    const done = await finish(callback, stateCookie);
    assert.equal(done.status, 303, await done.clone().text());
    assert.equal(done.headers.get("location"), `${f.url}/apps/song-request/?from=signin`);
    const session = cookieOf(done, "fl_session");
    assert.match(session, /Path=\/apps\/song-request\/;/);
    const cookie = `fl_session=${valueOf(session)}`;
    const here = await f.request("GET", "/apps/song-request/api/session", { headers: { cookie } });
    assert.deepEqual([here.data.signed_in, here.data.identity.provider], [true, "twitch"]);
    // The session is song-request's: shoutout does not take it.
    const there = await f.request("GET", "/apps/shoutout/api/session", { headers: { cookie } });
    assert.equal(there.data.signed_in, false);
    // A state is bound to its provider as well as to the browser.
    const other = await signIn("twitch", "song-request");
    const elsewhere = new URL(other.callback.href.replace("/auth/twitch/", "/auth/discord/"));
    const wrong = await finish(elsewhere, other.stateCookie);
    assert.deepEqual([wrong.status, (await wrong.json()).error.code], [400, "invalid_state"]);
    const unknown = await fetch(`${f.url}/auth/myspace/callback?code=x&state=y`);
    assert.deepEqual([unknown.status, (await unknown.json()).error.code], [404, "not_found"]);
    const posted = await fetch(`${f.url}/auth/twitch/callback`, { method: "POST" });
    assert.equal(posted.status, 405);
  });

  test("a forged state, a state from another browser and a reused code are refused", async () => {
    const { stateCookie, callback } = await signIn("google");
    const forged = new URL(callback);
    forged.searchParams.set("state", "0".repeat(32));
    const r1 = await finish(forged, stateCookie);
    assert.deepEqual([r1.status, (await r1.json()).error.code], [400, "invalid_state"]);
    const r2 = await finish(callback, "fl_oauth_state=; Path=/");
    assert.deepEqual([r2.status, (await r2.json()).error.code], [400, "invalid_state"], "no state cookie: started elsewhere");
    assert.equal((await finish(callback, stateCookie)).status, 303, "the genuine callback still works once");

    // The code from that sign-in, presented again with a fresh state: the provider refuses it.
    const fresh = await signIn("google");
    const reused = new URL(fresh.callback);
    reused.searchParams.set("code", callback.searchParams.get("code"));
    const r3 = await finish(reused, fresh.stateCookie);
    assert.deepEqual([r3.status, (await r3.json()).error.code], [400, "sign_in_failed"]);
  });

  test("a tampered session cookie is no session", async () => {
    const { stateCookie, callback } = await signIn("discord");
    const value = valueOf(cookieOf(await finish(callback, stateCookie), "fl_session"));
    const [body, sig] = value.split(".");
    const forgedBody = Buffer.from(JSON.stringify({ provider: "discord", sub: "someone-else", exp: 9999999999 })).toString("base64url");
    for (const cookie of [`fl_session=${forgedBody}.${sig}`, `fl_session=${body}.x${sig}`]) {
      const r = await f.submit("shoutout", rush, { addOns: ["rush"], headers: { cookie } });
      assert.equal(r.status, 401);
    }
    assert.equal((await f.request("POST", "/apps/shoutout/auth/logout")).headers.getSetCookie()[0].includes("Max-Age=0"), true);
  });

  test("an email confirmed by a signed link is an identity too, and the link works once", async () => {
    const asked = await f.request("POST", "/apps/shoutout/auth/email/start", { json: { email: "Link@Example.com", return: "/apps/shoutout/?from=mail" } });
    assert.equal(asked.status, 202, asked.text);
    assert.equal((await f.request("POST", "/apps/shoutout/auth/email/start", { json: { email: "nope" } })).data.error.code, "invalid_email");
    const mail = await (async () => {
      for (let i = 0; i < 50; i++) {
        const m = f.mail.mails.find((x) => x.to === "link@example.com" && x.subject.startsWith("Sign in"));
        if (m) return m;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const link = mail.text.match(/https?:\/\/\S+/)[0];
    const token = new URL(link).searchParams.get("token");
    // Opening the link shows whose address it signs in as, and signs no one in: a mail
    // scanner that fetches it does not spend it.
    for (let i = 0; i < 2; i++) {
      const page = await fetch(link, { redirect: "manual", headers: { accept: "text/html" } });
      const html = await page.text();
      assert.equal(page.status, 200, html);
      assert.match(html, /signs you in as <strong>link@example\.com<\/strong>/);
      assert.match(html, /<form method="post" action="\/apps\/shoutout\/auth\/email\/confirm">/);
      assert.equal(page.headers.get("cache-control"), "no-store");
      assert.equal(cookieOf(page, "fl_session"), undefined);
    }
    const confirm = (origin) =>
      fetch(`${f.url}/apps/shoutout/auth/email/confirm`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin },
        body: new URLSearchParams({ token }),
      });
    // Another site cannot press the button for a visitor (login CSRF), nor spend the link.
    const crossSite = await confirm("https://attacker.example");
    assert.deepEqual([crossSite.status, (await crossSite.json()).error.code], [403, "cross_site"]);
    assert.equal(cookieOf(crossSite, "fl_session"), undefined);
    const used = await confirm(f.url);
    assert.equal(used.status, 303);
    assert.equal(used.headers.get("location"), `${f.url}/apps/shoutout/?from=mail`);
    const cookie = `fl_session=${valueOf(cookieOf(used, "fl_session"))}`;
    const r = await f.submit("shoutout", rush, { addOns: ["rush"], headers: { cookie } });
    assert.equal(r.status, 201, r.text);
    const creator = await f.request("GET", `/apps/shoutout/api/requests/${r.data.id}`, { key: f.owner.apiKey });
    assert.deepEqual([creator.data.identity.provider, creator.data.identity.email], ["email", "link@example.com"]);
    const again = await confirm(f.url);
    assert.deepEqual([again.status, (await again.json()).error.code], [400, "invalid_link"]);
    // Opened again, the used link's page says so and offers no button.
    const usedPage = await fetch(link, { redirect: "manual", headers: { accept: "text/html" } });
    assert.equal(usedPage.status, 400);
    assert.doesNotMatch(await usedPage.text(), /<button/);
    // A person who presses it twice sees a page saying so, not JSON.
    const againInBrowser = await fetch(`${f.url}/apps/shoutout/auth/email/confirm?token=${encodeURIComponent(token)}`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: f.url, accept: "text/html" },
    });
    assert.equal(againInBrowser.status, 400);
    assert.match(await againInBrowser.text(), /<p role="alert">This sign-in link is not valid, has expired or was used/);
    const tampered = await fetch(link.replace(/token=./, "token=x"), { redirect: "manual" });
    assert.deepEqual([tampered.status, (await tampered.json()).error.code], [400, "invalid_link"]);
  });
});
