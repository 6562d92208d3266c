#!/usr/bin/env node
// The hub's deploy check: a hub deployed without PUBLIC_ORIGIN refuses every request (its
// notifications would carry broken relative links), and one with the local test route's
// setting could be made to trap, so deploying either is stopped here first.
// Usage: node scripts/check-deploy.mjs [folder with the hub's wrangler.toml]
import fs from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";

const dir = path.resolve(process.argv[2] ?? ".");
const config = parse(fs.readFileSync(path.join(dir, "wrangler.toml"), "utf8"));
const vars = config.vars ?? {};
const local = vars.ALLOW_HTTP_DESTINATIONS === "true";
const origin = String(vars.PUBLIC_ORIGIN ?? "");
const problems = [];
if (!local && !/^https:\/\/[^/\s]+$/.test(origin)) {
  problems.push(`PUBLIC_ORIGIN must be the marketplace's https origin (e.g. "https://fanline.example.com", no trailing slash), not "${origin}". Set it under [vars] in ${path.join(dir, "wrangler.toml")}.`);
}
// The route that traps on purpose is for tests on a local stack; a deployment never serves it.
if (vars.TEST_TRAP_ROUTE !== undefined) {
  problems.push(`TEST_TRAP_ROUTE is for local tests only (it lets GET /__trap crash a request); remove it from [vars] in ${path.join(dir, "wrangler.toml")}.`);
}
if (problems.length) {
  for (const p of problems) console.error(`deploy check: ${p}`);
  process.exit(1);
}
console.error("deploy check: ok");
