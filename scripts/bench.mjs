// Prints the figures we hold ourselves to: Worker bundle sizes (Cloudflare's limits are
// 3 MB gzipped on Free, 10 MB on Paid; startup must stay under 1 s) and intake latency and
// throughput on the local runtime. Figures only, no pass/fail: compare runs over time.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { ROOT, startStack, workers } from "./stack.mjs";
import { startStripe } from "./fakes/stripe.mjs";
import { startDiscord } from "./fakes/discord.mjs";

const { hub, apps } = workers();
console.log("== Worker bundles (build/index_bg.wasm + build/index.js)");
for (const w of [hub, ...apps]) {
  const wasm = fs.readFileSync(path.join(w.dir, "build/index_bg.wasm"));
  const js = fs.readFileSync(path.join(w.dir, "build/index.js"));
  const gz = zlib.gzipSync(Buffer.concat([wasm, js]), { level: 9 }).length;
  console.log(`${(path.relative(ROOT, w.dir) || "hub").padEnd(20)} wasm ${(wasm.length / 1024).toFixed(0).padStart(5)} KB   js ${(js.length / 1024).toFixed(1).padStart(5)} KB   gzipped ${(gz / 1024).toFixed(0).padStart(4)} KB`);
}

const stripe = await startStripe();
const discord = await startDiscord();
const stack = await startStack({ stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "fanline-bench-")), stripe, destinations: { discord: discord.webhookUrl } });
let ip = 0;
const submit = async (song) => {
  const t = performance.now();
  const r = await fetch(`${stack.url}/apps/song-request/api/requests`, {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": `10.${(++ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}` },
    body: JSON.stringify({ fields: { song } }),
  });
  await r.arrayBuffer();
  if (r.status !== 201) throw new Error(`intake answered ${r.status}`);
  return performance.now() - t;
};
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

try {
  for (let i = 0; i < 20; i++) await submit(`warm-up ${i}`);
  const sequential = [];
  for (let i = 0; i < 200; i++) sequential.push(await submit(`seq ${i}`));
  console.log(`\n== Intake, free request (validate, moderate, D1 batch, queue send), local workerd`);
  console.log(`sequential x200   p50 ${pct(sequential, 50).toFixed(1)} ms   p95 ${pct(sequential, 95).toFixed(1)} ms   max ${Math.max(...sequential).toFixed(1)} ms`);
  const concurrency = 8;
  const total = 400;
  const started = performance.now();
  let next = 0;
  const lat = [];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) lat.push(await submit(`par ${next++}`));
  }));
  const secs = (performance.now() - started) / 1000;
  console.log(`concurrent x${total} (${concurrency} at a time)   ${(total / secs).toFixed(0)} requests/s   p50 ${pct(lat, 50).toFixed(1)} ms   p95 ${pct(lat, 95).toFixed(1)} ms`);
  const t = performance.now();
  while (discord.messages.length < 620 && performance.now() - t < 60000) await new Promise((r) => setTimeout(r, 100));
  console.log(`fulfilment: ${discord.messages.length} of 620 Discord messages delivered ${((performance.now() - t) / 1000).toFixed(1)} s after the last intake`);
} finally {
  await stack.stop();
  await stripe.close();
  await discord.close();
}
