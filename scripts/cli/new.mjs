// `fanline new <slug> --template <name>`: a new micro-app folder from a template, added to the
// workspace and checked. The hub and the local stack find apps by their folders, so nothing
// else needs editing: the next `./scripts/dev` builds, registers and serves it.
import fs from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { ROOT } from "../stack.mjs";
import { problems, templateDirs } from "./check.mjs";

export const help = `fanline new <slug> --template <name> [--title "..."] [--owner <creator id>]

Creates apps/<slug>/ from templates/<name>/: manifest.json (slug and title set), wrangler.toml,
Cargo.toml and the 8-line src/lib.rs; adds it to the Cargo workspace; checks it. The next
./scripts/dev builds it and lists it in the local marketplace.

  <slug>        1-40 of a-z, 0-9 and '-' (the app's URL: /apps/<slug>/)
  --template    one of: ${listTemplates().join(", ")}
  --title       the app's title (default: the template's)
  --owner       the creator id that owns it (default: the local stack's first creator)`;

function listTemplates() {
  return templateDirs().map((d) => path.basename(d));
}

const SLUG = /^(?!-)[a-z0-9-]{1,40}(?<!-)$/;

function nextNamespace(prefix) {
  let max = Number(`${prefix}000`);
  for (const d of fs.readdirSync(path.join(ROOT, "apps"))) {
    const file = path.join(ROOT, "apps", d, "wrangler.toml");
    if (!fs.existsSync(file)) continue;
    for (const r of parseToml(fs.readFileSync(file, "utf8")).ratelimits ?? []) {
      if (String(r.namespace_id).startsWith(prefix)) max = Math.max(max, Number(r.namespace_id));
    }
  }
  return String(max + 1);
}

const wranglerToml = (slug) => `# The ${slug} micro-app. Deploy with \`fanline deploy\` (or \`wrangler deploy\` from this folder).
name = "fanline-${slug}"
main = "build/index.js"
compatibility_date = "2025-11-01"

[build]
command = "sh ../../scripts/build-worker.sh ."

[[d1_databases]]
binding = "DB"
database_name = "fanline"
database_id = "00000000-0000-4000-8000-000000000000"

[[r2_buckets]]
binding = "ATTACHMENTS"
bucket_name = "fanline-attachments"

[[queues.producers]]
binding = "FULFILMENT"
queue = "fanline-fulfilment"

# Edge rate limit per client IP: a coarse shield, counted per Cloudflare location.
[[ratelimits]]
name = "INTAKE_LIMITER"
namespace_id = "${nextNamespace("1")}"
simple = { limit = 10, period = 60 }

# Edge rate limit per fan once known (signed-in identity, fan token or email).
[[ratelimits]]
name = "FAN_LIMITER"
namespace_id = "${nextNamespace("2")}"
simple = { limit = 30, period = 60 }

[vars]
STRIPE_API_BASE = "https://api.stripe.com"
RATE_LIMIT_PERIOD_SECS = "60"
# The [[ratelimits]] limits again, for the RateLimit-Policy header (\`fanline check\` keeps them equal).
INTAKE_LIMITER_LIMIT = "10"
FAN_LIMITER_LIMIT = "30"
# Secrets (\`wrangler secret put NAME\`, or .fanline/secrets.env with \`fanline deploy\`):
# STRIPE_SECRET_KEY, FORM_TOKEN_SECRET, SESSION_SECRET; PayPal apps also PAYPAL_CLIENT_ID and
# PAYPAL_CLIENT_SECRET.
`;

const cargoToml = (slug) => `[package]
name = "app-${slug}"
version = "0.1.0"
edition.workspace = true
rust-version.workspace = true
license.workspace = true

[lib]
crate-type = ["cdylib"]

[dependencies]
fanline-edge.workspace = true
worker.workspace = true
`;

const libRs = (slug) => `//! The ${slug} micro-app: its manifest is the whole difference from any other app.

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    fanline_edge::app::serve(fanline_edge::manifest!(), req, env).await
}
`;

/** Adds "apps/<slug>" to the root Cargo.toml's workspace members. */
function addMember(slug) {
  const file = path.join(ROOT, "Cargo.toml");
  const text = fs.readFileSync(file, "utf8");
  const members = /members = \[([^\]]*)\]/.exec(text);
  if (!members) throw new Error("Cargo.toml has no [workspace] members list");
  const entry = `"apps/${slug}"`;
  if (members[1].includes(entry)) return;
  fs.writeFileSync(file, text.replace(members[0], `members = [${members[1].trimEnd()}, ${entry}]`));
}

export function create(slug, { template, title, owner }) {
  if (!SLUG.test(slug ?? "")) throw new UsageError(`"${slug ?? ""}" is not a slug: use 1-40 of a-z, 0-9 and '-', not starting or ending with '-' (e.g. fanline new my-app --template blank)`);
  const templates = listTemplates();
  if (!template) throw new UsageError(`--template is required; one of: ${templates.join(", ")}`);
  if (!templates.includes(template)) throw new UsageError(`no template "${template}"; one of: ${templates.join(", ")}`);
  const dir = path.join(ROOT, "apps", slug);
  if (fs.existsSync(dir)) throw new UsageError(`apps/${slug} exists already; pick another slug or edit that app's manifest.json`);
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "templates", template, "manifest.json"), "utf8"));
  const { slug: _template, title: templateTitle, owner: _owner, ...rest } = manifest;
  const out = { slug, title: title ?? templateTitle, ...(owner ? { owner } : {}), ...rest };
  fs.mkdirSync(path.join(dir, "src"), { recursive: true });
  fs.writeFileSync(path.join(dir, "manifest.json"), `${JSON.stringify(out, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, "wrangler.toml"), wranglerToml(slug));
  fs.writeFileSync(path.join(dir, "Cargo.toml"), cargoToml(slug));
  fs.writeFileSync(path.join(dir, "src/lib.rs"), libRs(slug));
  addMember(slug);
  return { dir, problems: problems({ apps: [dir], templates: [] }) };
}

export class UsageError extends Error {}

export function run(args, option) {
  const slug = args.find((a, i) => !a.startsWith("--") && !["--template", "--title", "--owner"].includes(args[i - 1]));
  const { dir, problems: found } = create(slug, { template: option("--template"), title: option("--title"), owner: option("--owner") });
  for (const p of found) console.log(p);
  if (found.length) return 1;
  console.log(`Created ${path.relative(ROOT, dir)}/ from the ${option("--template")} template and added it to the workspace.

Next:
  edit ${path.relative(ROOT, dir)}/manifest.json   (fields, pricing, routing: see docs/manifest.md)
  scripts/fanline check                     (validates it)
  ./scripts/dev                             (builds it and serves it at /apps/${slug}/)`);
  return 0;
}
