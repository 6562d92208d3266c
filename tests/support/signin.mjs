// Signing a fan in at an app through the local OpenID provider (oauth2-mock-server), as
// whoever `userinfo` describes: the app's start, the provider's authorize (which approves at
// once), the app's callback. Resolves to the session value (for `Fanline-Session`).
import assert from "node:assert/strict";

export async function signInAs(f, app, provider, userinfo) {
  f.oauth.service.once("beforeUserinfo", (answer) => {
    answer.body = userinfo;
  });
  const start = await fetch(`${f.url}/apps/${app}/auth/${provider}/start`, { redirect: "manual" });
  assert.equal(start.status, 302, await start.clone().text());
  const state = start.headers.getSetCookie().find((c) => c.startsWith("fl_oauth_state=")).split(";")[0];
  const atProvider = await fetch(start.headers.get("location"), { redirect: "manual" });
  const done = await fetch(atProvider.headers.get("location"), { redirect: "manual", headers: { cookie: state } });
  assert.equal(done.status, 303, await done.clone().text());
  return done.headers.getSetCookie().find((c) => c.startsWith("fl_session=")).split(";")[0].split("=").slice(1).join("=");
}
