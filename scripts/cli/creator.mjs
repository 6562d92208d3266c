// `fanline creator add`: registers a creator in D1 (the local dev database, or Cloudflare's with
// --remote) and prints their first API key once; only its SHA-256 is stored.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { creatorSql, localHubConfig, newApiKey, ROOT, wrangler } from "../stack.mjs";
import { UsageError } from "./new.mjs";

export const help = `fanline creator add --name "..." --email you@example.com [--id cr_...] [--state DIR | --remote]

Registers a creator and prints their first API key, once (only its SHA-256 is stored). They
sign in to the console with it, or with an email link sent to --email.

  --name     shown in the console and the catalog
  --email    where console sign-in links go (unique)
  --id       the creator id (default: cr_ and 12 random hex digits); manifests name it as "owner"
  --state    the local D1 state folder (default: .fanline/state, what ./scripts/dev uses)
  --remote   write to the production D1 ("fanline") through wrangler instead`;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function add({ name, email, id, state, remote }) {
  if (!name?.trim()) throw new UsageError(`--name is required, e.g. fanline creator add --name "DJ Nova" --email nova@example.com`);
  if (!email || !EMAIL.test(email)) throw new UsageError(`--email must be an email address (console sign-in links go there)`);
  id ??= `cr_${crypto.randomBytes(6).toString("hex")}`;
  if (!/^cr_[a-z0-9_]{1,40}$/.test(id)) throw new UsageError(`--id must look like cr_ and then a-z, 0-9 or _ (e.g. cr_nova)`);
  const apiKey = newApiKey();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fanline-cli-")), "creator.sql");
  fs.writeFileSync(file, creatorSql({ id, name: name.trim(), email: email.trim().toLowerCase() }, apiKey));
  try {
    if (remote) {
      wrangler(["d1", "execute", "fanline", "--remote", "--file", file, "-c", path.join(ROOT, "wrangler.toml")]);
    } else {
      const dir = path.resolve(state ?? path.join(ROOT, ".fanline/state"));
      if (!fs.existsSync(dir)) throw new UsageError(`no local D1 at ${dir}: start ./scripts/dev once (it creates it), or pass --state`);
      // A config of its own: the running stack's (under the state folder) is live, and wrangler
      // dev reloads when it changes.
      wrangler(["d1", "execute", "DB", "--local", "--persist-to", dir, "--file", file, "-c", localHubConfig(path.dirname(file))]);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (/UNIQUE constraint failed: creators\.email/.test(e.message)) throw new UsageError(`a creator with email ${email} exists already`);
    if (/UNIQUE constraint failed: creators\.id/.test(e.message)) throw new UsageError(`a creator with id ${id} exists already`);
    throw e;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
  return { id, apiKey };
}

export function run(args, option) {
  if (args[0] !== "add") throw new UsageError(`unknown creator command "${args[0] ?? ""}"; try: fanline creator add --help`);
  const { id, apiKey } = add({ name: option("--name"), email: option("--email"), id: option("--id"), state: option("--state"), remote: args.includes("--remote") });
  console.log(`Creator ${id} registered.

API key (shown once; keep it somewhere safe):
  ${apiKey}

Use it as "Authorization: Bearer <key>" with the creator API, or sign in at /console/.
To own an app, put "owner": "${id}" in its manifest.json.`);
  return 0;
}
