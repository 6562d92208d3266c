// Which requests the hub's entry hands straight to an app's Worker (src/app_forward.mjs),
// tested directly in Node. Every intake and bid test through the stack checks the answers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { forwardedTo, unreachable } from "../src/app_forward.mjs";

const songRequest = { fetch: () => "song-request" };
const env = { PUBLIC_ORIGIN: "https://fanline.example", APP_SONG_REQUEST: songRequest, APP_X: { fetch: () => "x" }, DB: {} };
const req = (method, path) => new Request(`https://fanline.example${path}`, { method });

describe("the entry's forward to an app", () => {
  test("a submission, a bid and their preflights go to the app's binding", () => {
    for (const [method, path] of [
      ["POST", "/apps/song-request/api/requests"],
      ["OPTIONS", "/apps/song-request/api/requests"],
      ["POST", "/apps/song-request/api/auctions/auc_01H8Z-x/bids"],
      ["OPTIONS", "/apps/song-request/api/auctions/auc_1/bids"],
      ["POST", "/apps/song-request/api/requests?utm=stream"],
    ]) {
      assert.equal(forwardedTo(env, req(method, path)), songRequest, `${method} ${path}`);
    }
    assert.equal(forwardedTo(env, req("POST", "/apps/x/api/requests")), env.APP_X, "a one-letter slug");
  });

  test("anything else is left to the Rust hub", () => {
    for (const [method, path] of [
      // What the hub answers itself, or other methods the app refuses through the hub.
      ["GET", "/apps/song-request/api/requests"],
      ["PUT", "/apps/song-request/api/requests"],
      ["GET", "/apps/song-request/"],
      ["POST", "/apps/song-request/api/requests/req_1/accept"],
      ["POST", "/apps/song-request/api/requests/req_1/rating"],
      ["POST", "/apps/song-request/api/auctions"],
      ["POST", "/apps/song-request/api/credits/checkout"],
      // Not spelled exactly: the Rust hub decides (a 404, or the same app by its own reading).
      ["POST", "/apps/song-request/api/requests/"],
      ["POST", "/apps//song-request/api/requests"],
      ["POST", "/apps/Song-Request/api/requests"],
      ["POST", "/apps/-song/api/requests"],
      ["POST", "/apps/song-/api/requests"],
      ["POST", "/apps/song%2Drequest/api/requests"],
      ["POST", `/apps/${"a".repeat(41)}/api/requests`],
      ["POST", "/apps/song-request/api/auctions/a/b/bids"],
      // No such app: no binding, so the hub's 404.
      ["POST", "/apps/pixel-icon/api/requests"],
      ["POST", "/webhooks/payment"],
    ]) {
      assert.equal(forwardedTo(env, req(method, path)), null, `${method} ${path}`);
    }
  });

  test("a hub without its public origin forwards nothing (the Rust hub refuses outside local development)", () => {
    assert.equal(forwardedTo({ ...env, PUBLIC_ORIGIN: "" }, req("POST", "/apps/song-request/api/requests")), null);
    assert.equal(forwardedTo({ APP_SONG_REQUEST: songRequest }, req("POST", "/apps/song-request/api/requests")), null);
  });

  test("an app that cannot be reached is the hub's JSON 500", async () => {
    const logged = [];
    const error = console.error;
    console.error = (m) => logged.push(m);
    try {
      const r = unreachable(new Error("connection reset"));
      assert.equal(r.status, 500);
      assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
      assert.deepEqual(await r.json(), { error: { code: "internal", message: "Something went wrong on our side; please try again." } });
      assert.match(logged[0], /connection reset/);
    } finally {
      console.error = error;
    }
  });
});
