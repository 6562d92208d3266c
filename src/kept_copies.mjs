// The hub's kept copies of the pages every fan gets alike, in this isolate's memory, and how a
// GET is answered from one. Plain JavaScript with no Workers import, so Node tests it directly
// (tests/platform-kept-copies.test.mjs); `src/entry.mjs` holds one store per isolate and
// `src/shared_copies.rs` decides what goes into it and when a copy goes.

export class KeptCopies {
  /**
   * @param {{ maxCopies?: number, maxBytes?: number, maxBody?: number }} bounds past either
   * of the first two the expired copies go, then all (an isolate has 128 MB for everything it
   * does); a body over `maxBody` is never kept.
   */
  constructor({ maxCopies = 512, maxBytes = 16 * 1024 * 1024, maxBody = 512 * 1024 } = {}) {
    this.bounds = { maxCopies, maxBytes, maxBody };
    this.copies = new Map();
    this.bytes = 0;
  }

  /** Keeps a 200 answer under `url`, with headers that already carry all it needs (nosniff). */
  keep(url, headers, body, etag, cacheControl, storedAt, freshUntil) {
    const { maxCopies, maxBytes, maxBody } = this.bounds;
    if (body.length > maxBody) return;
    this.forget(url);
    const full = () => this.copies.size >= maxCopies || this.bytes + body.length > maxBytes;
    if (full()) {
      for (const [key, kept] of this.copies) if (kept.freshUntil <= storedAt) this.forget(key);
      if (full()) {
        this.copies.clear();
        this.bytes = 0;
      }
    }
    // From the hub, `body` is a view of the wasm memory: copied out, since that memory moves on.
    this.copies.set(url, { headers: new Headers(headers), body: body.slice(), etag, cacheControl, storedAt, freshUntil });
    this.bytes += body.length;
  }

  /** Drops the copy under `url`, when what it shows has changed. */
  forget(url) {
    const kept = this.copies.get(url);
    if (kept !== undefined) {
      this.bytes -= kept.body.length;
      this.copies.delete(url);
    }
  }

  /** The kept answer for a GET while it is fresh at `now` (ms): its 304 when the caller holds
   * its version, else the page with its `Age`; undefined when there is none. */
  answer(request, now = Date.now()) {
    const copy = this.copies.get(request.url);
    if (copy === undefined) return undefined;
    if (copy.freshUntil <= now) {
      this.forget(request.url);
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
}

/** Whether `If-None-Match` names `etag` (weak or strong) or is `*`, as the hub's `holds_version`. */
function holdsVersion(request, etag) {
  const held = request.headers.get("If-None-Match");
  return held !== null && held.split(",").some((tag) => {
    let t = tag.trim();
    while (t.startsWith("W/")) t = t.slice(2);
    return t === etag || t === "*";
  });
}
