// A deployment missing what it needs refuses work instead of running unsafely (issue 10,
// items 14 and 17): a Worker without its rate-limit bindings fails closed, and a hub
// without PUBLIC_ORIGIN (outside local development) answers every request with a clear 503
// and its cron does nothing, rather than sending notifications with broken relative links.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { settle, startFixture } from "./support/fixture.mjs";

describe("Workers deployed without their rate limiters", () => {
  test("refuse intake (the app's) and sign-in mail (the hub's) with a 503 that names no configuration", async () => {
    const f = await startFixture({ withoutRatelimits: true });
    try {
      const r = await f.submit("song-request", { song: "unlimited?" });
      assert.equal(r.status, 503, r.text);
      assert.equal(r.data.error.code, "not_configured");
      assert.doesNotMatch(r.data.error.message, /LIMITER|binding/);
      const mail = await f.request("POST", "/apps/shoutout/auth/email/start", { json: { email: "x@example.com" } });
      assert.equal(mail.status, 503, mail.text);
      assert.doesNotMatch(mail.data.error.message, /LIMITER|binding/);
      assert.equal(f.mail.mails.length, 0);
    } finally {
      await f.stop();
    }
  });
});

describe("a hub deployed without PUBLIC_ORIGIN", () => {
  test("answers every request with a clear 503 and its cron sends nothing", async () => {
    const f = await startFixture({ hubVars: { PUBLIC_ORIGIN: "", ALLOW_HTTP_DESTINATIONS: "false" } });
    try {
      for (const path of ["/health", "/", "/api/apps", "/apps/song-request/"]) {
        const r = await f.request("GET", path);
        assert.equal(r.status, 503, path);
        assert.equal(r.data.error.code, "not_configured", path);
      }
      const intake = await f.submit("song-request", { song: "lost link" });
      assert.equal(intake.status, 503);
      const cron = await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now() + 7 * 24 * 3600 * 1000}`);
      assert.equal(cron.status, 200);
      await settle(1000);
      assert.equal(f.discord.messages?.length ?? 0, 0);
      assert.equal(f.mail.mails.length, 0);
    } finally {
      await f.stop();
    }
  });
});
