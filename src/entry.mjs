// The hub Worker's entry: the Rust hub (worker-build's output) behind one fast path.
//
// The pages every fan gets alike (an app's form page, embed page, embed script, public
// manifest, and the catalog) are kept in this isolate's memory once the hub has answered them
// (`src/shared_copies.rs` decides what may be kept and for how long, and drops a copy whose
// content changed). A GET for a fresh copy is answered here, without entering the wasm
// module: calling into Rust costs a cached GET more than everything else it does (the hub's
// `/health` read 0.85x an empty JavaScript Worker, a 15 KB script from JavaScript 0.98x).
// Everything else, and every copy that has expired, goes to the hub unchanged.
import { WorkerEntrypoint } from "cloudflare:workers";
import Hub from "../build/index.js";

export * from "../build/index.js";

/** Enough for every page of a few hundred apps; past it the expired copies go, then all. */
const MAX_COPIES = 512;
/** A body larger than this is passed on but never kept. */
const MAX_BODY = 512 * 1024;

const copies = new Map();

// What the hub calls (through `js_namespace`): it hands over a 200 answer it may keep, with
// headers that already carry everything the answer needs (nosniff included).
globalThis.fanlineKeptCopies = {
  keep(url, headers, body, etag, cacheControl, storedAt, freshUntil) {
    if (body.length > MAX_BODY) return;
    if (copies.size >= MAX_COPIES) {
      for (const [key, kept] of copies) if (kept.freshUntil <= storedAt) copies.delete(key);
      if (copies.size >= MAX_COPIES) copies.clear();
    }
    // `body` is a view of the wasm memory: copied out, since that memory moves on.
    copies.set(url, { headers: new Headers(headers), body: body.slice(), etag, cacheControl, storedAt, freshUntil });
  },
  forget(url) {
    copies.delete(url);
  },
};

/** Whether `If-None-Match` names `etag` (weak or strong) or is `*`, as the hub's `holds_version`. */
function holdsVersion(request, etag) {
  const held = request.headers.get("If-None-Match");
  return held !== null && held.split(",").some((tag) => {
    let t = tag.trim();
    while (t.startsWith("W/")) t = t.slice(2);
    return t === etag || t === "*";
  });
}

/** The kept answer for this GET while it is fresh: its 304 when the caller holds its version. */
function keptAnswer(request) {
  const copy = copies.get(request.url);
  if (copy === undefined) return undefined;
  const now = Date.now();
  if (copy.freshUntil <= now) {
    copies.delete(request.url);
    return undefined;
  }
  const age = String(Math.floor(Math.max(0, now - copy.storedAt) / 1000));
  if (copy.etag && holdsVersion(request, copy.etag)) {
    return new Response(null, { status: 304, headers: { ETag: copy.etag, "Cache-Control": copy.cacheControl, Age: age, "X-Content-Type-Options": "nosniff" } });
  }
  const headers = new Headers(copy.headers);
  headers.set("Age", age);
  return new Response(copy.body, { headers });
}

export default class extends WorkerEntrypoint {
  fetch(request) {
    return (request.method === "GET" && keptAnswer(request)) || new Hub(this.ctx, this.env).fetch(request);
  }
  queue(batch) {
    return new Hub(this.ctx, this.env).queue(batch);
  }
  scheduled(event) {
    return new Hub(this.ctx, this.env).scheduled(event);
  }
}
