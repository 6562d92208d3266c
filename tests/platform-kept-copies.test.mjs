// The hub's store of kept copies (src/kept_copies.mjs), tested directly in Node: its bounds,
// expiry and conditional answers. platform-caching checks the same copies through the stack.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeptCopies } from "../src/kept_copies.mjs";

const URL_A = "http://hub.test/apps/a/";
const page = (text) => new TextEncoder().encode(text);
const headers = () => new Headers({ "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=60", etag: '"v1"', "x-content-type-options": "nosniff" });
const get = (url, extra = {}) => new Request(url, { headers: extra });

describe("kept copies", () => {
  test("a fresh copy is the page with its Age, and a 304 for a caller holding its version", async () => {
    const copies = new KeptCopies();
    const body = page("<p>hello</p>");
    copies.keep(URL_A, headers(), body, '"v1"', "public, max-age=60", 1_000, 61_000);
    body.fill(0); // the hub's view of its memory moves on; the copy must not
    const hit = copies.answer(get(URL_A), 3_500);
    assert.equal(hit.status, 200);
    assert.equal(await hit.text(), "<p>hello</p>");
    assert.equal(hit.headers.get("age"), "2");
    assert.equal(hit.headers.get("etag"), '"v1"');
    assert.equal(hit.headers.get("x-content-type-options"), "nosniff");
    for (const held of ['"v1"', 'W/"v1"', '"v0", W/"v1"', "*"]) {
      const r = copies.answer(get(URL_A, { "if-none-match": held }), 3_500);
      assert.deepEqual([r.status, r.headers.get("etag"), r.headers.get("cache-control"), r.headers.get("x-content-type-options")], [304, '"v1"', "public, max-age=60", "nosniff"], held);
    }
    assert.equal(copies.answer(get(URL_A, { "if-none-match": '"v0"' }), 3_500).status, 200);
    assert.equal(copies.answer(get(`${URL_A}?x=1`), 3_500), undefined, "another URL is another page");
  });

  test("an expired copy is gone, and so is a forgotten one", () => {
    const copies = new KeptCopies();
    copies.keep(URL_A, headers(), page("a"), '"v1"', "public, max-age=60", 0, 60_000);
    assert.ok(copies.answer(get(URL_A), 59_999));
    assert.equal(copies.answer(get(URL_A), 60_000), undefined);
    assert.equal(copies.bytes, 0);
    copies.keep(URL_A, headers(), page("a"), '"v1"', "public, max-age=60", 0, 60_000);
    copies.forget(URL_A);
    assert.equal(copies.answer(get(URL_A), 1), undefined);
    assert.equal(copies.bytes, 0);
  });

  test("the store stays within its bounds: count, bytes and body size", () => {
    const copies = new KeptCopies({ maxCopies: 3, maxBytes: 10, maxBody: 6 });
    const url = (i) => `http://hub.test/p/${i}`;
    copies.keep(url(0), headers(), page("x".repeat(7)), null, "public, max-age=60", 0, 60_000);
    assert.equal(copies.copies.size, 0, "a body over the size bound is never kept");
    copies.keep(url(1), headers(), page("1234"), null, "", 0, 1_000);
    copies.keep(url(2), headers(), page("1234"), null, "", 0, 60_000);
    copies.keep(url(2), headers(), page("12345"), null, "", 0, 60_000);
    assert.equal(copies.bytes, 9, "keeping a URL again replaces its copy");
    // 9 + 4 bytes is over the bound: the expired copy goes first, which makes room.
    copies.keep(url(3), headers(), page("1234"), null, "", 2_000, 62_000);
    assert.deepEqual([...copies.copies.keys()], [url(2), url(3)]);
    assert.equal(copies.bytes, 9);
    // Nothing expired and no room: everything goes, then the new copy is kept.
    copies.keep(url(4), headers(), page("123456"), null, "", 3_000, 63_000);
    assert.deepEqual([...copies.copies.keys()], [url(4)]);
    assert.equal(copies.bytes, 6);
    copies.keep(url(5), headers(), page("1"), null, "", 3_000, 63_000);
    copies.keep(url(6), headers(), page("1"), null, "", 3_000, 63_000);
    copies.keep(url(7), headers(), page("1"), null, "", 3_000, 63_000);
    assert.ok(copies.copies.size <= 3, "never more copies than the count bound");
  });
});
