// The hub Worker's entry: the Rust hub (worker-build's output) behind two fast paths.
//
// The pages every fan gets alike (an app's form page, embed page, embed script, public
// manifest, and the catalog) are kept in this isolate's memory once the hub has answered them
// (`src/shared_copies.rs` decides what may be kept and for how long, and drops a copy whose
// content changed; `src/kept_copies.mjs` is the store). A GET for a fresh copy is answered
// here, without entering the wasm module, which costs a request more than the copy's whole
// answer (docs/performance.md, "Kept copies answered by the entry, without the wasm").
// A fan's submission or bid goes straight to its app's Worker (`src/app_forward.mjs`), as the
// hub would send it. Everything else, and every copy that has expired, goes to the hub unchanged.
import { WorkerEntrypoint } from "cloudflare:workers";
import Hub from "../build/index.js";
import { KeptCopies } from "./kept_copies.mjs";
import { forwardedTo, unreachable } from "./app_forward.mjs";

export * from "../build/index.js";

const copies = new KeptCopies();
// What the hub calls, through `js_namespace` imports (`keep`, `forget`).
globalThis.fanlineKeptCopies = copies;

export default class extends WorkerEntrypoint {
  fetch(request) {
    const app = forwardedTo(this.env, request);
    if (app) return app.fetch(request).catch(unreachable);
    return (request.method === "GET" && copies.answer(request)) || new Hub(this.ctx, this.env).fetch(request);
  }
  queue(batch) {
    return new Hub(this.ctx, this.env).queue(batch);
  }
  scheduled(event) {
    return new Hub(this.ctx, this.env).scheduled(event);
  }
}
