// A trap (a Rust panic compiles to one) poisons the Worker's wasm instance. wasm-bindgen's glue
// and the entry worker-build puts in front of it each notice it and reinitialize, so a trap
// costs the request that hit it and nothing after it. With both checks cut out of a build by
// hand, the /health after the trap is a 500 ("Module terminated") and this test fails.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import http from "node:http";
import { startFixture } from "./support/fixture.mjs";

// A test-only route, not in the API's description, so it is asked for outside the fixture's
// contract-checked fetch.
const rawGet = (url) =>
  new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    }).on("error", reject);
  });

let f;
before(async () => (f = await startFixture({ hubVars: { TEST_TRAP_ROUTE: "true" } })));
after(() => f?.stop());

describe("recovering from a trap", () => {
  test("the request after a trap is answered by a fresh instance, with its data intact", async () => {
    const created = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Before the trap" } } });
    assert.equal(created.status, 201);
    for (let i = 0; i < 2; i++) {
      const trapped = await rawGet(`${f.stack.url}/__trap`);
      assert.equal(trapped.status, 500, "the trapped request fails");
      const health = await f.request("GET", "/health");
      assert.equal(health.status, 200, `the next request is answered (trap ${i + 1})`);
      assert.deepEqual(health.data, { ok: true });
    }
    const status = await f.request("GET", `/apps/song-request/api/requests/${created.data.id}`);
    assert.equal(status.status, 200, "what was stored before the trap is still there");
    assert.equal(status.data.id, created.data.id);
  });

  test("the route does not exist unless a local stack turns it on", async () => {
    const g = await startFixture();
    try {
      const r = await rawGet(`${g.stack.url}/__trap`);
      assert.equal(r.status, 404);
      assert.equal(JSON.parse(r.body).error.code, "not_found");
    } finally {
      await g.stop();
    }
  });
});
