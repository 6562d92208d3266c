// Pages every fan gets alike are cached at the edge and revalidated by version: the form page,
// embed.js, manifest.json and the catalog carry a strong ETag and a public Cache-Control and
// answer 304 to a caller holding that version; a versioned embed URL is immutable; anything
// that depends on the fan (a request's status, a checkout) is never stored.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const SHARED = "public, max-age=60, stale-while-revalidate=600";

async function revalidates(path) {
  const first = await f.request("GET", path);
  assert.equal(first.status, 200, path);
  const etag = first.headers.get("etag");
  assert.match(etag ?? "", /^"[0-9a-f]{20}"$/, `${path} has a strong ETag`);
  const again = await f.request("GET", path, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304, `${path} answers 304 to its own ETag`);
  assert.equal(again.text, "");
  assert.equal(again.headers.get("etag"), etag);
  const other = await f.request("GET", path, { headers: { "if-none-match": '"0000000000000000000a"' } });
  assert.equal(other.status, 200, `${path} answers 200 to another version`);
  return first;
}

describe("cacheable pages", () => {
  test("the form page, embed.js and manifest.json: public, versioned, 304 when unchanged", async () => {
    const page = await revalidates("/apps/song-request/");
    assert.equal(page.headers.get("cache-control"), SHARED);
    const version = page.text.match(/embed\.js\?v=([0-9a-f]{20})/)[1];
    assert.equal(page.headers.get("etag"), `"${version}"`, "the page names the script of its own version");
    const manifest = await revalidates("/apps/song-request/manifest.json");
    assert.equal(manifest.headers.get("cache-control"), SHARED);
    const script = await revalidates("/apps/song-request/embed.js");
    assert.equal(script.headers.get("cache-control"), SHARED, "an unversioned script URL may change");
    const pinned = await f.request("GET", `/apps/song-request/embed.js?v=${version}`);
    assert.equal(pinned.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const stale = await f.request("GET", "/apps/song-request/embed.js?v=00000000000000000000");
    assert.equal(stale.headers.get("cache-control"), SHARED, "another version's URL is not pinned to this one");
    // Each app has its own manifest, so its own version.
    const other = await f.request("GET", "/apps/pixel-icon/");
    assert.notEqual(other.headers.get("etag"), page.headers.get("etag"));
  });

  test("the catalog, as HTML and JSON", async () => {
    for (const path of ["/", "/api/apps"]) {
      const first = await revalidates(path);
      assert.equal(first.headers.get("cache-control"), SHARED, path);
      assert.equal(first.headers.get("x-content-type-options"), "nosniff", `${path} keeps the hub's headers when served from cache`);
    }
  });

  test("the hub answers pages from its own copy while they are fresh, and never the API", async () => {
    for (const path of ["/apps/pixel-icon/", "/apps/pixel-icon/manifest.json", "/api/apps"]) {
      const first = await f.request("GET", path);
      const copy = await f.request("GET", path);
      assert.equal(copy.status, 200, path);
      assert.match(copy.headers.get("age") ?? "", /^\d+$/, `${path} is a kept copy, so it says its Age`);
      assert.equal(copy.text, first.text, `${path}: the copy is the page`);
      for (const name of ["etag", "cache-control", "content-type", "content-security-policy", "x-content-type-options"]) {
        assert.equal(copy.headers.get(name), first.headers.get(name), `${path}: the copy keeps ${name}`);
      }
      const held = await f.request("GET", path, { headers: { "if-none-match": first.headers.get("etag") } });
      assert.equal(held.status, 304, `${path}: a caller holding the version gets 304 from the copy too`);
      assert.equal(held.headers.get("etag"), first.headers.get("etag"));
      assert.equal(held.headers.get("x-content-type-options"), "nosniff", `${path}: a 304 from the copy is hardened too`);
      // A browser holding several versions lists them, maybe weak; any match is enough.
      const listed = await f.request("GET", path, { headers: { "if-none-match": `"0000", W/${first.headers.get("etag")}` } });
      assert.equal(listed.status, 304, `${path}: a listed weak tag matches the copy`);
      const other = await f.request("GET", path, { headers: { "if-none-match": `"0000"` } });
      assert.deepEqual([other.status, other.text], [200, first.text], `${path}: another version gets the page`);
    }
    const created = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Copy me not" } } });
    assert.equal(created.status, 201, created.text);
    for (let i = 0; i < 2; i++) {
      const status = await f.request("GET", `/apps/song-request/api/requests/${created.data.id}`);
      assert.equal(status.headers.get("age"), null, "an API answer is never a copy");
    }
  });

  test("what depends on the fan is never stored", async () => {
    const created = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Cache me not" } } });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("cache-control"), "no-store");
    const status = await f.request("GET", `/apps/song-request/api/requests/${created.data.id}`);
    assert.equal(status.headers.get("cache-control"), "no-store");
    assert.equal(status.headers.get("etag"), null);
    const paid = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Pay me" }, add_ons: ["priority"] } });
    assert.equal(paid.status, 201);
    assert.ok(paid.data.checkout_url, "a checkout link");
    assert.equal(paid.headers.get("cache-control"), "no-store");
    const refused = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: {} } });
    assert.equal(refused.status, 422);
    assert.equal(refused.headers.get("cache-control"), "no-store");
  });
});
