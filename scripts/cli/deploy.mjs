// `fanline deploy [--dry-run]`: provisions what is missing on Cloudflare (D1 and its migrations,
// the R2 bucket, the queues, secrets), deploys every app and then the hub with wrangler, and
// registers each app's catalog row from its manifest. `--dry-run` touches nothing: it prints the
// plan and runs `wrangler deploy --dry-run` for every Worker.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { appBindings, appSql, buildWorkers, generatedConfig, localHubConfig, ROOT, workers, wrangler } from "../stack.mjs";
import { problems } from "./check.mjs";
import { UsageError } from "./new.mjs";

export const help = `fanline deploy [--dry-run | --local [--state DIR]] [--origin https://your.domain] [--secrets FILE]

Checks every app (fanline check), then:
  1. provisions what is missing: the D1 database "fanline" and its migrations, the R2 bucket
     "fanline-attachments", the queues "fanline-fulfilment" and "fanline-fulfilment-dlq";
  2. sets each Worker's secrets from FILE (default .fanline/secrets.env, which git ignores:
     NAME=value lines; SESSION_SECRET and FORM_TOKEN_SECRET go to every Worker,
     CREDENTIALS_KEY, which seals destination credentials, to the hub);
  3. builds and deploys every app, then the hub with a service binding to each app (generated
     from apps/; no hub file lists them);
  4. registers each app's catalog row from its manifest (its "owner" creator id is required).

  --dry-run   change nothing: print the plan and run wrangler deploy --dry-run for each Worker
  --local     do to the local stack's D1 (--state, default .fanline/state) what a deploy does
              to the data: apply migrations and register every app from its manifest (the local
              runtime serves the Workers from this tree; nothing is uploaded)
  --origin    the marketplace's https origin (the hub's PUBLIC_ORIGIN)
  --secrets   the secrets file

Needs wrangler logged in (wrangler login, or CLOUDFLARE_API_TOKEN) except with --dry-run.`;

const OUT = path.join(ROOT, ".fanline/deploy");
const TURNSTILE_TEST_SITE_KEY = /^[123]x0{20}[A-F]{2}$/;
const SHARED_SECRETS = ["SESSION_SECRET", "FORM_TOKEN_SECRET"];
const HUB_SECRETS = /^(STRIPE_|PAYPAL_|MAIL_API_KEY|MODERATION_WEBHOOK_SECRET|SESSION_SECRET|FORM_TOKEN_SECRET|OAUTH_|SIGNIN_|TWITCH_EVENTSUB_SECRET|CREDENTIALS_KEY)/;
const APP_SECRETS = /^(STRIPE_SECRET_KEY|PAYPAL_CLIENT_|TURNSTILE_|SESSION_SECRET|FORM_TOKEN_SECRET)/;

/** A deployable config for one Worker: absolute paths, no build step (built once before). */
function deployConfig(dir, { databaseId, origin, isHub }) {
  const cfg = generatedConfig(dir);
  if (databaseId) for (const d1 of cfg.d1_databases ?? []) d1.database_id = databaseId;
  if (isHub && origin) cfg.vars = { ...(cfg.vars ?? {}), PUBLIC_ORIGIN: origin };
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${cfg.name}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  return { file, cfg };
}

function readSecrets(file) {
  if (!fs.existsSync(file)) return {};
  const out = {};
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return out;
}

/**
 * `--local`: what a deploy does to the data, against the local stack's D1 (`--state`, default
 * .fanline/state): migrations applied, every app registered from its manifest. The local
 * runtime serves the Workers from the tree, so nothing is uploaded.
 */
function deployLocal(state, log) {
  const dir = path.resolve(state ?? path.join(ROOT, ".fanline/state"));
  if (!fs.existsSync(dir)) throw new UsageError(`no local D1 at ${dir}: start ./scripts/dev once (it creates it), or pass --state`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-deploy-"));
  try {
    // A config of its own: the running stack's is live, and wrangler dev reloads when it changes.
    const config = localHubConfig(work);
    const applied = wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir, "-c", config]);
    log(/No migrations to apply/.test(applied) ? "migrations  none to apply" : "migrations  applied");
    const owners = JSON.parse(wrangler(["d1", "execute", "DB", "--local", "--persist-to", dir, "--json", "--command", "SELECT id FROM creators ORDER BY created_at, id", "-c", config]))[0].results.map((r) => r.id);
    if (!owners.length) throw new UsageError("the local D1 has no creator yet: fanline creator add --name ... --email ...");
    const { apps } = workers();
    const file = path.join(work, "register.sql");
    fs.writeFileSync(file, apps.map((a) => appSql(a.manifest, owners.includes(a.manifest.owner) ? a.manifest.owner : owners[0])).join("\n"));
    wrangler(["d1", "execute", "DB", "--local", "--persist-to", dir, "--file", file, "-c", config]);
    for (const a of apps) log(`register    apps row "${a.slug}" ("${a.manifest.title}")`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return 0;
}

export function run(args, option) {
  const dryRun = args.includes("--dry-run");
  if (args.includes("--local")) {
    const found = problems();
    if (found.length) {
      for (const p of found) console.log(p);
      return 1;
    }
    return deployLocal(option("--state"), (line) => console.log(line));
  }
  const origin = option("--origin");
  if (origin && !/^https:\/\/[^/\s]+$/.test(origin)) throw new UsageError(`--origin must be an https origin with no path, e.g. https://fanline.example.com`);
  const secretsFile = path.resolve(option("--secrets") ?? path.join(ROOT, ".fanline/secrets.env"));
  const found = problems();
  if (found.length) {
    for (const p of found) console.log(p);
    console.error("\nfanline check found problems; nothing was deployed.");
    return 1;
  }
  const { hub, apps } = workers();
  const secrets = readSecrets(secretsFile);
  const missingShared = SHARED_SECRETS.filter((s) => !secrets[s]);
  const log = (line) => console.log(line);

  log(`Plan (${dryRun ? "dry run: nothing changes on Cloudflare" : "deploying"}):`);
  log(`  provision  D1 "fanline" + migrations/ (${fs.readdirSync(path.join(ROOT, "migrations")).length} files), R2 "fanline-attachments", queues "fanline-fulfilment", "fanline-fulfilment-dlq" (each only if missing)`);
  log(`  secrets    from ${path.relative(ROOT, secretsFile)}: ${Object.keys(secrets).length ? Object.keys(secrets).join(", ") : "none found"}${missingShared.length ? ` (missing ${missingShared.join(", ")}: every Worker needs them)` : ""}`);
  for (const a of apps) log(`  deploy     ${path.relative(ROOT, a.dir)} as fanline-${a.slug}`);
  log(`  deploy     hub (fanline-hub) with bindings ${appBindings(apps).map((b) => `${b.binding} -> ${b.service}`).join(", ")}${origin ? `, PUBLIC_ORIGIN ${origin}` : ""}`);
  for (const a of apps) log(`  register   apps row "${a.slug}" (owner ${a.manifest.owner ?? "MISSING: add \"owner\" to its manifest"})`);
  // The hub seals destination credentials with it; without it creators cannot save any.
  if (!/^[0-9a-fA-F]{64}$/.test(secrets.CREDENTIALS_KEY ?? "")) log(`  WARNING    CREDENTIALS_KEY is ${secrets.CREDENTIALS_KEY ? "not 64 hex digits" : "not set"}: creators cannot save destinations until it is (openssl rand -hex 32)`);
  // Cloudflare's test site keys pass every visitor in the widget, and a real secret then
  // refuses their dummy tokens: fine for the local stand-in, never what a live form wants.
  for (const a of apps) {
    const key = a.manifest.turnstile?.site_key;
    if (TURNSTILE_TEST_SITE_KEY.test(key ?? "")) log(`  WARNING    ${a.slug}: turnstile.site_key "${key}" is a Cloudflare test key; put your widget's site key in apps/${a.slug}/manifest.json before going live`);
  }
  log("");

  if (dryRun) {
    let failed = false;
    for (const w of [...apps, hub]) {
      const { file, cfg } = deployConfig(w.dir, { origin: origin ?? "https://fanline.example.com", isHub: w === hub });
      const outdir = path.join(OUT, "dry-run", cfg.name);
      try {
        const output = wrangler(["deploy", "--dry-run", "--outdir", outdir, "-c", file]);
        const bindings = output.split("\n").filter((l) => /^\s*env\./.test(l));
        log(`dry run ok   ${cfg.name} (${bindings.length} bindings, bundle in ${path.relative(ROOT, outdir)})`);
        for (const b of bindings.filter((l) => /env\.(APP_|DB\b)/.test(l))) log(`               ${b.trim().replace(/\s+/g, " ")}`);
      } catch (e) {
        failed = true;
        log(`dry run FAILED ${cfg.name}:\n${e.message}`);
      }
    }
    if (!origin) log(`\nnote: no --origin given; the dry run used https://fanline.example.com for PUBLIC_ORIGIN.`);
    return failed ? 1 : 0;
  }

  if (!origin) throw new UsageError(`--origin is required to deploy (the hub's PUBLIC_ORIGIN, e.g. --origin https://fanline.example.com)`);
  if (missingShared.length) throw new UsageError(`${path.relative(ROOT, secretsFile)} lacks ${missingShared.join(", ")}: add NAME=<64 random hex digits> lines (e.g. openssl rand -hex 32)`);
  const ownerless = apps.filter((a) => !a.manifest.owner);
  if (ownerless.length) throw new UsageError(`add "owner": "<creator id>" to ${ownerless.map((a) => `apps/${a.slug}/manifest.json`).join(", ")} (fanline creator add --remote prints an id)`);

  const json = (argv) => JSON.parse(wrangler([...argv, "--json"]));
  let db = json(["d1", "list"]).find((d) => d.name === "fanline");
  if (!db) {
    log("creating D1 fanline");
    wrangler(["d1", "create", "fanline"]);
    db = json(["d1", "list"]).find((d) => d.name === "fanline");
  }
  const databaseId = db.uuid;
  const hubConfig = deployConfig(hub.dir, { databaseId, origin, isHub: true }).file;
  wrangler(["d1", "migrations", "apply", "fanline", "--remote", "-c", hubConfig]);
  if (!wrangler(["r2", "bucket", "list"]).includes("fanline-attachments")) wrangler(["r2", "bucket", "create", "fanline-attachments"]);
  const queues = wrangler(["queues", "list"]);
  for (const q of ["fanline-fulfilment", "fanline-fulfilment-dlq"]) if (!queues.includes(q)) wrangler(["queues", "create", q]);
  buildWorkers();
  for (const w of [...apps, hub]) {
    const isHub = w === hub;
    const { file, cfg } = deployConfig(w.dir, { databaseId, origin, isHub });
    log(`deploying ${cfg.name}`);
    wrangler(["deploy", "-c", file]);
    const mine = Object.fromEntries(Object.entries(secrets).filter(([name]) => (isHub ? HUB_SECRETS : APP_SECRETS).test(name)));
    if (Object.keys(mine).length) {
      const bulk = path.join(OUT, `${cfg.name}.secrets.json`);
      fs.writeFileSync(bulk, JSON.stringify(mine), { mode: 0o600 });
      try {
        wrangler(["secret", "bulk", bulk, "-c", file]);
      } finally {
        fs.rmSync(bulk, { force: true });
      }
    }
  }
  const register = path.join(OUT, "register.sql");
  fs.writeFileSync(register, apps.map((a) => appSql(a.manifest, a.manifest.owner)).join("\n"));
  wrangler(["d1", "execute", "fanline", "--remote", "--file", register, "-c", hubConfig]);
  log(`\nDeployed ${apps.length} app(s) and the hub to ${origin}.`);
  return 0;
}
