// `fanline check`: every manifest (apps and templates) through the Rust parser the Workers use,
// and every app's wrangler.toml against what the hub and the stack expect. Each problem is
// printed with where it is; any problem makes the exit code non-zero.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { ROOT } from "../stack.mjs";

/** Builds (once, natively) and runs the manifest checker on `files`; its problem lines. */
export function manifestProblems(files) {
  if (files.length === 0) return [];
  const build = spawnSync("cargo", ["build", "-q", "-p", "fanline-core", "--features", "cli", "--bin", "manifest-check"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`building the manifest checker failed:\n${build.stderr}`);
  const target = path.resolve(ROOT, process.env.CARGO_TARGET_DIR ?? "target");
  const r = spawnSync(path.join(target, "debug/manifest-check"), files, { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0 && r.status !== 1) throw new Error(`the manifest checker failed:\n${r.stderr ?? r.error}`);
  return r.stdout.split("\n").filter(Boolean).map((line) => line.replace(`${ROOT}/`, ""));
}

/** What is wrong with an app folder's wrangler.toml, as `file: key: message` lines. */
export function wranglerProblems(dir) {
  const file = path.join(dir, "wrangler.toml");
  const rel = path.relative(ROOT, file);
  let cfg;
  try {
    cfg = parseToml(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return [`${rel}: $: ${e.message.split("\n")[0]}`];
  }
  const slug = path.basename(dir);
  let manifest = {};
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
  } catch {}
  const problems = [];
  const bad = (key, message) => problems.push(`${rel}: ${key}: ${message}`);
  if (cfg.name !== `fanline-${slug}`) bad("name", `must be "fanline-${slug}" (the hub's binding to the app names this Worker)`);
  if (cfg.main !== "build/index.js") bad("main", `must be "build/index.js" (what worker-build writes)`);
  if (manifest.slug && manifest.slug !== slug) bad("name", `the folder is apps/${slug} but manifest.json's slug is "${manifest.slug}"; they must match`);
  const binding = (list, name) => (list ?? []).find((b) => b.binding === name);
  const db = binding(cfg.d1_databases, "DB");
  if (!db || db.database_name !== "fanline") bad("d1_databases", `needs binding "DB" to database_name "fanline"`);
  if (!binding(cfg.queues?.producers, "FULFILMENT")) bad("queues.producers", `needs binding "FULFILMENT" to queue "fanline-fulfilment" (notifications)`);
  if (!binding(cfg.r2_buckets, "ATTACHMENTS")) bad("r2_buckets", `needs binding "ATTACHMENTS" to bucket "fanline-attachments"`);
  if (!(cfg.ratelimits ?? []).some((r) => r.name === "INTAKE_LIMITER")) bad("ratelimits", `needs a rate limit named "INTAKE_LIMITER" (edge limit per client IP)`);
  // The Worker cannot read [[ratelimits]]; the vars it announces in RateLimit-Policy must agree.
  for (const limiter of cfg.ratelimits ?? []) {
    const declared = cfg.vars?.[`${limiter.name}_LIMIT`];
    if (declared !== undefined && String(declared) !== String(limiter.simple?.limit)) {
      bad("vars", `${limiter.name}_LIMIT is "${declared}" but the ${limiter.name} rate limit is ${limiter.simple?.limit}; make them equal (RateLimit-Policy announces the var)`);
    }
  }
  return problems;
}

export function appDirs() {
  const apps = path.join(ROOT, "apps");
  return fs.readdirSync(apps).filter((d) => fs.existsSync(path.join(apps, d, "manifest.json")) || fs.existsSync(path.join(apps, d, "wrangler.toml"))).sort().map((d) => path.join(apps, d));
}

export function templateDirs() {
  const dir = path.join(ROOT, "templates");
  return fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, "manifest.json"))).sort().map((d) => path.join(dir, d));
}

/** Every problem in the given app folders (default: all apps and templates). */
export function problems({ apps = appDirs(), templates = templateDirs() } = {}) {
  const found = [];
  for (const dir of apps) {
    for (const f of ["manifest.json", "wrangler.toml"]) if (!fs.existsSync(path.join(dir, f))) found.push(`${path.relative(ROOT, dir)}/${f}: $: missing`);
  }
  const manifests = [...apps, ...templates].map((d) => path.join(d, "manifest.json")).filter((f) => fs.existsSync(f));
  found.push(...manifestProblems(manifests));
  for (const dir of apps) if (fs.existsSync(path.join(dir, "wrangler.toml"))) found.push(...wranglerProblems(dir));
  return found;
}

export const help = `fanline check [<app folder>...]

Validates every manifest in apps/ and templates/ (with the same parser the Workers use) and
every app's wrangler.toml. Each problem is printed as

  apps/<slug>/manifest.json: fields[2].max_bytes: must be at most 26214400

and the exit code is 1 when there is any. Every Worker build runs it for the app it builds,
so a broken manifest never deploys. With folders, only those apps are checked.`;

export function run(args) {
  const apps = args.length ? args.map((a) => path.resolve(a)) : undefined;
  const found = problems(apps ? { apps, templates: [] } : {});
  for (const p of found) console.log(p);
  if (found.length) {
    console.error(`\n${found.length} problem${found.length === 1 ? "" : "s"}; fix ${found.length === 1 ? "it" : "them"} and run fanline check again.`);
    return 1;
  }
  console.log(`ok: ${(apps ?? appDirs()).length} app(s)${apps ? "" : ` and ${templateDirs().length} template(s)`} checked`);
  return 0;
}
