// What a creator runs to ship: `wrangler deploy` from each Worker's folder. A dry run checks
// every wrangler.toml (bindings, queue consumers, build output) without reaching Cloudflare.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ROOT, workers } from "../scripts/stack.mjs";

const { hub, apps } = workers();

const dryRun = (w, out, env = {}) =>
  spawnSync(process.execPath, [path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", out], {
    cwd: w.dir,
    encoding: "utf8",
    // The Workers were built by the test command; the [build] step would only rebuild them.
    env: { ...process.env, FANLINE_PREBUILT: "1", WRANGLER_SEND_METRICS: "false", CI: "true", ...env },
  });

test("deploying the hub without PUBLIC_ORIGIN is refused by the deploy check, with what to set", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-deploy-"));
  const r = dryRun(hub, out);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /deploy check: PUBLIC_ORIGIN must be the marketplace's https origin/);
  fs.rmSync(out, { recursive: true, force: true });
});

for (const w of [hub, ...apps]) {
  const name = path.relative(ROOT, w.dir) || "hub";
  test(`wrangler deploy --dry-run succeeds for ${name}`, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-deploy-"));
    // The shipped hub config leaves PUBLIC_ORIGIN for the operator (tested above).
    const r = dryRun(w, out, w === hub ? { FANLINE_LOCAL_BUILD: "1" } : {});
    const output = r.stdout + r.stderr;
    assert.equal(r.status, 0, output);
    assert.match(output, /env\.DB \(fanline\)\s+D1 Database/);
    if (w === hub) {
      assert.match(output, /env\.APP_SONG_REQUEST \(fanline-song-request\)\s+Worker/);
      assert.match(output, /env\.FULFILMENT \(fanline-fulfilment\)\s+Queue/);
    } else {
      assert.match(output, /env\.ATTACHMENTS \(fanline-attachments\)\s+R2 Bucket/);
      assert.match(output, /env\.INTAKE_LIMITER \(\d+ requests\/60s\)\s+Rate Limit/);
    }
    assert.ok(fs.readdirSync(out).some((f) => f.endsWith(".wasm")), "the bundle carries the wasm module");
    fs.rmSync(out, { recursive: true, force: true });
  });
}
