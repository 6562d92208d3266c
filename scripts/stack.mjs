// Runs the whole marketplace on the local Cloudflare runtime (workerd through `wrangler dev`):
// the hub and every app in one process, sharing local D1, R2 and Queues, on one origin.
// Used by `scripts/fanline.mjs dev` and by the black-box tests, each with its own state dir.
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseToml } from "smol-toml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");

/** The hub first (it is the one served), then every app folder with a wrangler.toml. */
export function workers() {
  const apps = fs
    .readdirSync(path.join(ROOT, "apps"))
    .filter((d) => fs.existsSync(path.join(ROOT, "apps", d, "wrangler.toml")))
    .sort()
    .map((d) => ({ dir: path.join(ROOT, "apps", d), slug: d, manifest: JSON.parse(fs.readFileSync(path.join(ROOT, "apps", d, "manifest.json"), "utf8")) }));
  return { hub: { dir: ROOT }, apps };
}

/** Builds every Worker with worker-build (through scripts/build-worker.sh). */
export function buildWorkers({ log = console.error } = {}) {
  const { hub, apps } = workers();
  for (const w of [hub, ...apps]) {
    log(`[build] ${path.relative(ROOT, w.dir) || "hub"}`);
    const r = spawnSync("sh", [path.join(ROOT, "scripts/build-worker.sh"), "."], { cwd: w.dir, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, FANLINE_PREBUILT: "", FANLINE_LOCAL_BUILD: "1" } });
    if (r.status !== 0) throw new Error(`building ${w.dir} failed`);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sql = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
export const hashKey = (key) => crypto.createHash("sha256").update(key).digest("hex");
export const newApiKey = () => `fl_live_${crypto.randomBytes(24).toString("hex")}`;
export const newWebhookSecret = () => `whsec_${crypto.randomBytes(24).toString("base64")}`;

/** The statements that register a creator with a first API key (stored as its SHA-256 only). */
export function creatorSql(c, apiKey, now = Date.now()) {
  return [
    `INSERT INTO creators (id, name, api_key_hash, created_at, email) VALUES (${sql(c.id)}, ${sql(c.name)}, ${sql(hashKey(apiKey))}, ${now}, ${c.email ? sql(c.email) : "NULL"});`,
    `INSERT INTO api_keys (id, creator_id, name, key_hash, last4, created_at) VALUES (${sql(`key_${c.id}`)}, ${sql(c.id)}, 'First key', ${sql(hashKey(apiKey))}, ${sql(apiKey.slice(-4))}, ${now});`,
  ].join("\n");
}

/** Registers (or updates) an app's catalog row from its manifest: what deploying and starting do. */
export function appSql(m, owner, now = Date.now()) {
  return `INSERT INTO apps (slug, creator_id, title, description, manifest, created_at) VALUES (${sql(m.slug)}, ${sql(owner)}, ${sql(m.title)}, ${sql(m.description ?? "")}, ${sql(JSON.stringify(m))}, ${now})
       ON CONFLICT (slug) DO UPDATE SET creator_id = excluded.creator_id, title = excluded.title, description = excluded.description, manifest = excluded.manifest;`;
}

/** The hub's service binding to each app Worker (`APP_<SLUG>`), generated from apps/ so adding an app never edits the hub's config. */
export function appBindings(apps = workers().apps) {
  return apps.map((a) => ({ binding: `APP_${a.slug.toUpperCase().replaceAll("-", "_")}`, service: parseToml(fs.readFileSync(path.join(a.dir, "wrangler.toml"), "utf8")).name }));
}

/** Writes a wrangler config for local runs: absolute paths, no build step, local settings. */
// Names of values that are `wrangler secret`s in production. Locally they go in a `.dev.vars`
// file beside the config, as wrangler expects secrets, so its startup table hides them.
const SECRET_NAME = /SECRET|_KEY$|TOKEN|PASSWORD/;

/**
 * A Worker's wrangler.toml as a config that can live in another folder: absolute paths, no build
 * step (the Workers are built once, before), and for the hub a service binding to every app.
 */
export function generatedConfig(dir) {
  const cfg = parseToml(fs.readFileSync(path.join(dir, "wrangler.toml"), "utf8"));
  if (dir === ROOT) cfg.services = appBindings();
  cfg.main = path.resolve(dir, cfg.main);
  for (const d1 of cfg.d1_databases ?? []) if (d1.migrations_dir) d1.migrations_dir = path.resolve(dir, d1.migrations_dir);
  delete cfg.build;
  return cfg;
}

function localConfig(dir, outDir, vars, { withoutRatelimits = false } = {}) {
  const cfg = generatedConfig(dir);
  if (withoutRatelimits) delete cfg.ratelimits;
  const all = { ...(cfg.vars ?? {}), ...vars };
  cfg.vars = Object.fromEntries(Object.entries(all).filter(([name]) => !SECRET_NAME.test(name)));
  const secrets = Object.entries(all).filter(([name]) => SECRET_NAME.test(name));
  const workerDir = path.join(outDir, cfg.name);
  fs.mkdirSync(workerDir, { recursive: true });
  fs.writeFileSync(path.join(workerDir, ".dev.vars"), secrets.map(([name, value]) => `${name}=${JSON.stringify(String(value))}`).join("\n") + "\n");
  const file = path.join(workerDir, "wrangler.json");
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  return file;
}

/**
 * Every destination kind set up against the local stand-ins, in the shape `startStack` seeds
 * (`discord` and `webhook` as URLs, the others as their settings objects).
 */
export function localDestinations({ discord, webhooks, trello, twilio, notion, airtable }) {
  return {
    discord: discord.webhookUrl,
    webhook: `${webhooks.url}/fanline`,
    creator_email: { email: "creator@fanline.local" },
    trello: { key: trello.key, token: trello.token, list_id: trello.lists.todo, done_list_id: trello.lists.done },
    sms: { account_sid: twilio.accountSid, auth_token: twilio.authToken, from: twilio.from, to: twilio.to },
    notion: { token: notion.token, database_id: notion.databaseId.replace(/-/g, ""), title_property: "Name" },
    airtable: { token: airtable.token, base_id: airtable.baseId, table: airtable.table },
  };
}

/** Applies every migration not yet applied to the local D1 in `stateDir` (wrangler's own runner). */
export function applyMigrations(stateDir, hubConfig, logFile) {
  return wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir, "-c", hubConfig], { logFile });
}

/** A hub config for local runs (D1 and its migrations only), for tools that need no running stack. */
export function localHubConfig(outDir) {
  return localConfig(ROOT, outDir, {});
}

export function wrangler(args, { cwd = ROOT, logFile } = {}) {
  const r = spawnSync(process.execPath, [WRANGLER, ...args], { cwd, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
  if (logFile) fs.appendFileSync(logFile, `$ wrangler ${args.join(" ")}\n${r.stdout}\n${r.stderr}\n`);
  if (r.status !== 0) throw new Error(`wrangler ${args[0]} failed${r.error ? ` (${r.error.message})` : ""}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Starts the stack. Options:
 *   stateDir     fresh directory for D1/R2/Queue state, configs and logs
 *   stripe       a started local Stripe (scripts/fakes/stripe.mjs), or { url, secretKey, webhookSecret }
 *   creators     [{ id, name }] to create; each gets an API key. The first owns every app.
 *   destinations { discord, webhook } URLs and { trello, sms, notion, airtable, creator_email }
 *                settings objects (as PUT /api/apps/:slug/destinations takes them), set for
 *                every app, or omitted
 *   mail         a started local mail API (startMail), or omitted to skip fan emails
 *   paypal       a started local PayPal (scripts/fakes/paypal.mjs), or omitted
 *   turnstile    a started local Turnstile siteverify (scripts/fakes/turnstile.mjs), or omitted
 *   oauth        the issuer URL of an OpenID provider (oauth2-mock-server) standing in for
 *                Twitch, Discord, Google and Patreon sign-in, or omitted
 *   twitch       a started local Twitch (scripts/fakes/twitch.mjs) for the hub's channel
 *                connections and EventSub, or omitted
 *   youtube      a started local YouTube (scripts/fakes/youtube.mjs) for the hub's live-chat
 *                connections, or omitted
 *   apis         { trello, twilio, notion, airtable } base URLs of local API servers
 *                (scripts/fakes/{trello,twilio,notion,airtable}.mjs), or omitted
 *   hubVars      extra [vars] for the hub, e.g. { RETRY_SCHEDULE: "1" }
 *   withoutRatelimits  start every Worker without its [[ratelimits]] bindings (they must refuse work)
 *   port         fixed port (default: a free one)
 * Resolves to { url, creators: [{id, name, apiKey}], webhookSecrets: {slug: secret}, stop }.
 */
/** The local stack's sealing key (`CREDENTIALS_KEY`); never a deployment's. */
export const LOCAL_CREDENTIALS_KEY = "6c6f63616c2d6f6e6c792d66616e6c696e652d63726564656e7469616c732d31";

export async function startStack({ stateDir, stripe, mail, paypal, turnstile, oauth, twitch, youtube, apis = {}, hubVars = {}, withoutRatelimits = false, creators = [{ id: "cr_demo", name: "Demo Creator" }], destinations = {}, port, log = () => {}, extraSql = "" }) {
  fs.mkdirSync(stateDir, { recursive: true });
  const configDir = path.join(stateDir, "config");
  fs.mkdirSync(configDir, { recursive: true });
  const logFile = path.join(stateDir, "wrangler.log");
  const { hub, apps } = workers();
  port ??= await freePort();
  const inspectorPort = await freePort();

  const mailVars = mail ? { MAIL_API_BASE: mail.url, MAIL_API_KEY: mail.apiKey, MAIL_FROM: "requests@fanline.local" } : {};
  // Signs form tokens (minimum fill time); the same secret for every Worker.
  const formVars = { FORM_TOKEN_SECRET: crypto.randomBytes(24).toString("hex"), SESSION_SECRET: crypto.randomBytes(32).toString("hex") };
  // Fans sign in at the hub with the marketplace's OAuth clients; locally a separate client per
  // provider (SIGNIN_*) on the local OpenID provider, since the hub's own Twitch and Google
  // applications (OAUTH_*, below) are the live tools' stand-ins.
  const signInVars = {};
  for (const p of oauth ? ["TWITCH", "DISCORD", "GOOGLE", "PATREON"] : []) {
    Object.assign(signInVars, {
      [`SIGNIN_${p}_CLIENT_ID`]: `fanline-${p.toLowerCase()}`,
      [`SIGNIN_${p}_CLIENT_SECRET`]: "local-secret",
      [`SIGNIN_${p}_AUTHORIZE_URL`]: `${oauth}/authorize`,
      [`SIGNIN_${p}_TOKEN_URL`]: `${oauth}/token`,
      [`SIGNIN_${p}_USERINFO_URL`]: `${oauth}/userinfo`,
    });
  }
  // The hub's Twitch application: channel connections, Helix and EventSub (whose deliveries
  // are signed with this secret, which every subscription is made with).
  const twitchVars = twitch
    ? {
        OAUTH_TWITCH_CLIENT_ID: twitch.clientId,
        OAUTH_TWITCH_CLIENT_SECRET: twitch.clientSecret,
        OAUTH_TWITCH_AUTHORIZE_URL: `${twitch.url}/oauth2/authorize`,
        OAUTH_TWITCH_TOKEN_URL: `${twitch.url}/oauth2/token`,
        TWITCH_API_BASE: `${twitch.url}/helix`,
        TWITCH_EVENTSUB_SECRET: crypto.randomBytes(20).toString("hex"),
      }
    : {};
  // The hub's Google application, for reading and answering YouTube live chats.
  const youtubeVars = youtube
    ? {
        OAUTH_GOOGLE_CLIENT_ID: youtube.clientId,
        OAUTH_GOOGLE_CLIENT_SECRET: youtube.clientSecret,
        OAUTH_GOOGLE_AUTHORIZE_URL: `${youtube.url}/o/oauth2/v2/auth`,
        OAUTH_GOOGLE_TOKEN_URL: `${youtube.url}/token`,
        YOUTUBE_API_BASE: `${youtube.url}/youtube/v3`,
      }
    : {};
  // Seals destination credentials in D1. A fixed key, local only: the dev command's state
  // outlives a restart, and rows sealed under a random key would not open after it.
  const sealingVars = { CREDENTIALS_KEY: LOCAL_CREDENTIALS_KEY };
  // An outside moderation service signs its verdicts with this (Standard Webhooks).
  const moderationSecret = newWebhookSecret();
  const turnstileVars = turnstile ? { TURNSTILE_API_BASE: turnstile.url, TURNSTILE_SECRET_KEY: turnstile.secret, TURNSTILE_TIMEOUT_MS: "1500" } : {};
  const paypalVars = paypal ? { PAYPAL_API_BASE: paypal.url, PAYPAL_CLIENT_ID: paypal.clientId, PAYPAL_CLIENT_SECRET: paypal.clientSecret } : {};
  // Fulfilment targets' APIs: { trello, twilio, notion, airtable } base URLs of local servers.
  const apiVars = Object.fromEntries(Object.entries(apis).map(([name, url]) => [`${name.toUpperCase()}_API_BASE`, url]));
  const hubConfig = localConfig(hub.dir, configDir, { ...apiVars, STRIPE_WEBHOOK_SECRET: stripe.webhookSecret, STRIPE_API_BASE: stripe.url, STRIPE_SECRET_KEY: stripe.secretKey, ALLOW_HTTP_DESTINATIONS: "true", PUBLIC_ORIGIN: `http://127.0.0.1:${port}`, ...mailVars, ...paypalVars, ...formVars, MODERATION_WEBHOOK_SECRET: moderationSecret, ...(paypal ? { PAYPAL_WEBHOOK_ID: paypal.webhookId } : {}), ...twitchVars, ...youtubeVars, ...signInVars, ...sealingVars, ...hubVars }, { withoutRatelimits });
  const appConfigs = apps.map((a) => localConfig(a.dir, configDir, { ALLOW_HTTP_DESTINATIONS: "true", STRIPE_API_BASE: stripe.url, STRIPE_SECRET_KEY: stripe.secretKey, ...paypalVars, ...formVars, ...turnstileVars }, { withoutRatelimits }));

  const now = Date.now();
  const seeded = creators.map((c) => ({ ...c, apiKey: newApiKey() }));
  const webhookSecrets = {};
  const lines = [];
  for (const c of seeded) lines.push(creatorSql(c, c.apiKey, now));
  // Apps register themselves from their manifests: the owner it names, else the first creator.
  for (const a of apps) {
    const m = a.manifest;
    lines.push(appSql(m, seeded.some((c) => c.id === m.owner) ? m.owner : seeded[0].id, now));
    // The same JSON `PUT /api/apps/:slug/destinations` stores (credentials included).
    const settings = {};
    if (destinations.discord) settings.discord = { webhook_url: destinations.discord };
    if (destinations.webhook) {
      webhookSecrets[m.slug] = newWebhookSecret();
      settings.webhook = { url: destinations.webhook, secret: webhookSecrets[m.slug] };
    }
    // Other kinds (trello, sms, notion, airtable, creator_email) are given as their settings.
    for (const [kind, value] of Object.entries(destinations)) if (typeof value === "object") settings[kind] = value;
    for (const [kind, value] of Object.entries(settings)) {
      lines.push(`INSERT OR REPLACE INTO destinations (app_slug, kind, settings, enabled, updated_at) VALUES (${sql(m.slug)}, ${sql(kind)}, ${sql(JSON.stringify(value))}, 1, ${now});`);
    }
  }
  // Extra rows (the dev command's demo history) go in with the seed.
  if (extraSql) lines.push(extraSql);
  const seedFile = path.join(stateDir, "seed.sql");
  fs.writeFileSync(seedFile, lines.join("\n"));
  log("applying migrations/ and seeding local D1");
  applyMigrations(stateDir, hubConfig, logFile);
  wrangler(["d1", "execute", "DB", "--local", "--persist-to", stateDir, "--file", seedFile, "-c", hubConfig], { logFile });

  log(`starting wrangler dev on port ${port}`);
  const out = fs.openSync(logFile, "a");
  const child = spawn(
    process.execPath,
    [WRANGLER, "dev", "-c", hubConfig, ...appConfigs.flatMap((c) => ["-c", c]), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", stateDir, "--show-interactive-dev-session=false"],
    { cwd: ROOT, stdio: ["ignore", out, out], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false", FANLINE_PREBUILT: "1" } },
  );
  let exited = null;
  child.on("exit", (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited !== null) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    await new Promise((r) => {
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
        r();
      }, 5000);
      child.once("exit", () => (clearTimeout(t), r()));
    });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited !== null) throw new Error(`wrangler dev exited (${exited}); see ${logFile}:\n${fs.readFileSync(logFile, "utf8").slice(-3000)}`);
    try {
      const r = await fetch(`${url}/health`);
      // The hub answering is not enough: wait until an app Worker answers through it too.
      const a = await fetch(`${url}/apps/${apps[0].slug}/manifest.json`);
      if (r.ok && a.ok) break;
      // A hub started without a setting it needs answers, but refuses work: it is up.
      if (r.status === 503 && (await r.json().catch(() => null))?.error?.code === "not_configured") break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`stack did not start in 90 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // workerd keeps the same SQLite file open and may hold a write for a moment (queue
  // consumers, webhooks still settling), so a second process can meet SQLITE_BUSY; that is
  // the lock, not the answer, so wait and ask again.
  const d1Run = (args) => {
    for (let attempt = 1; ; attempt++) {
      const r = spawnSync(process.execPath, [WRANGLER, "d1", "execute", "DB", "--local", "--persist-to", stateDir, ...args, "-c", hubConfig], { cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
      const out = `${r.stdout}\n${r.stderr}`;
      if (!/SQLITE_BUSY|database is locked/.test(out) || attempt === 20) return { ...r, out };
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  };
  /** Runs SQL on the stack's local D1 (for tests that check the database's own guards). */
  const d1 = (command) => d1Run(["--command", command]).out;
  /** The rows a query returns, as objects. */
  const d1Rows = (query) => {
    const r = d1Run(["--json", "--command", query]);
    if (r.status !== 0) throw new Error(`wrangler d1 execute failed:\n${r.out}`);
    return JSON.parse(r.stdout)[0].results;
  };
  return { url, port, creators: seeded, webhookSecrets, moderationSecret, stateDir, logFile, stop, d1, d1Rows };
}
