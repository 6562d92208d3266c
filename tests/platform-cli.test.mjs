// The `fanline` command line (issue 14): --help everywhere; `check` with each problem's JSON
// path; `new` from every template in a temporary copy of the repository, built, served by the
// local stack (which registers each app from its manifest and binds it to the hub) and taking
// a request; `creator add` against the running stack; `deploy --dry-run` for every Worker.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, test } from "node:test";
import { ROOT } from "../scripts/stack.mjs";
import { startStripe } from "../scripts/fakes/stripe.mjs";
import { startTurnstile } from "../scripts/fakes/turnstile.mjs";
import { tinyPng } from "./support/fixture.mjs";

const fanline = (args, { cwd = ROOT, env = {} } = {}) => {
  const r = spawnSync(process.execPath, [path.join(cwd, "scripts/fanline.mjs"), ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr, all: r.stdout + r.stderr };
};
const TEMPLATES = fs.readdirSync(path.join(ROOT, "templates")).sort();
const cleanup = [];
after(() => {
  if (!process.env.FANLINE_KEEP_STATE) for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
});

describe("help and errors", () => {
  test("every command answers --help, and a mistake says what to do", () => {
    const top = fanline(["--help"]);
    assert.equal(top.code, 0);
    for (const c of ["dev", "check", "new", "creator", "deploy", "app"]) {
      assert.match(top.out, new RegExp(`^  ${c} `, "m"));
      const h = fanline([c, "--help"]);
      assert.equal(h.code, 0, h.all);
      assert.match(h.out, new RegExp(`^fanline ${c}`));
    }
    assert.equal(fanline(["frobnicate"]).code, 2);
    const badSlug = fanline(["new", "Bad Slug", "--template", "blank"]);
    assert.equal(badSlug.code, 2);
    assert.match(badSlug.err, /is not a slug: use 1-40 of a-z, 0-9 and '-'/);
    const noTemplate = fanline(["new", "fresh-app", "--template", "nope"]);
    assert.match(noTemplate.err, new RegExp(`no template "nope"; one of: ${TEMPLATES.join(", ")}`));
    assert.match(fanline(["new", "song-request", "--template", "blank"]).err, /apps\/song-request exists already/);
    assert.match(fanline(["creator", "add", "--name", "X"]).err, /--email must be an email address/);
    assert.match(fanline(["deploy", "--origin", "http://x"]).err, /--origin must be an https origin/);
  });
});

describe("fanline check", () => {
  test("the shipped apps and templates pass", () => {
    const r = fanline(["check"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, new RegExp(`ok: \\d+ app\\(s\\) and ${TEMPLATES.length} template\\(s\\) checked`));
  });

  test("a broken app gets every problem with its JSON path and a non-zero exit", () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fanline-check-")), "pixel-icon");
    cleanup.push(path.dirname(dir));
    fs.cpSync(path.join(ROOT, "apps/pixel-icon"), dir, { recursive: true, filter: (f) => !f.includes(`${path.sep}build`) });
    const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
    m.fields[4].max_bytes = 30000000;
    m.fields[2].name = "tip";
    m.pricing.add_ons[0].amount = 0;
    fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(m));
    fs.writeFileSync(path.join(dir, "wrangler.toml"), fs.readFileSync(path.join(dir, "wrangler.toml"), "utf8").replace('name = "fanline-pixel-icon"', 'name = "icons"'));
    const r = fanline(["check", dir]);
    assert.equal(r.code, 1, r.all);
    const lines = r.out.trim().split("\n").map((l) => l.replace(/^.*pixel-icon\//, ""));
    assert.deepEqual(lines, [
      "manifest.json: fields[2].name: 'tip' is not allowed: 1-40 of a-z, 0-9 and '_', starting with a letter, and none of add_ons, bid, fields, form_token, idempotency_key, pay_with, provider, tip, turnstile_token",
      "manifest.json: fields[4].max_bytes: must be at most 26214400 (it is 30000000)",
      "manifest.json: pricing.add_ons[0].amount: an add-on must cost something",
      'wrangler.toml: name: must be "fanline-pixel-icon" (the hub\'s binding to the app names this Worker)',
    ]);
    assert.match(r.err, /4 problems; fix them and run fanline check again/);
    // A shape problem (a key the parser does not know) is named by its path too.
    m.fields[2].name = "palette";
    m.fields[1].colour = "red";
    fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(m));
    assert.match(fanline(["check", dir]).out, /manifest\.json: fields\[1\]\.colour: unknown field `colour`/);
  });
});

describe("fanline deploy --dry-run", () => {
  test("checks, plans and dry-runs wrangler deploy for every app and the hub, whose bindings are generated from apps/", () => {
    const r = fanline(["deploy", "--dry-run", "--origin", "https://fanline.example.com"], { env: { FANLINE_PREBUILT: "1" } });
    assert.equal(r.code, 0, r.all);
    const apps = fs.readdirSync(path.join(ROOT, "apps")).sort();
    for (const a of apps) {
      assert.match(r.out, new RegExp(`dry run ok   fanline-${a} \\(\\d+ bindings`));
      const binding = `APP_${a.toUpperCase().replaceAll("-", "_")}`;
      assert.match(r.out, new RegExp(`env\\.${binding} \\(fanline-${a}\\) Worker`), `the hub is bound to ${a}`);
    }
    assert.match(r.out, /dry run ok   fanline-hub/);
    assert.match(r.out, /provision  D1 "fanline" \+ migrations/);
    assert.match(r.out, /WARNING    stream-slot: turnstile.site_key "1x00000000000000000000AA" is a Cloudflare test key/);
    assert.doesNotMatch(r.out, /WARNING    (song-request|pixel-icon|shoutout):/);
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"), /^\[\[services\]\]/m, "no hub file lists the apps");
  });
});

describe("from a template to a request, in a copy of the repository", () => {
  test("fanline new from every template, built and served without editing any other file; fanline creator add gives a working key; a rebuilt manifest changes the ETag", async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-repo-"));
    cleanup.push(copy);
    const files = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
    for (const f of files) {
      if (!fs.existsSync(path.join(ROOT, f))) continue;
      fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, f), path.join(copy, f));
    }
    // The tools are shared, not installed again (scripts/tools.sh never reinstalls a linked node_modules).
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
    // The shipped Workers are built already; only the new apps are built here.
    for (const built of ["build", ...fs.readdirSync(path.join(ROOT, "apps")).map((a) => `apps/${a}/build`)]) {
      if (fs.existsSync(path.join(ROOT, built))) fs.cpSync(path.join(ROOT, built), path.join(copy, built), { recursive: true });
    }
    // The main target folder: the dependencies are compiled already; only the copy's crates build.
    const env = { CARGO_TARGET_DIR: path.join(ROOT, "target") };
    const slugs = TEMPLATES.map((t) => `my-${t}`);
    for (const [i, t] of TEMPLATES.entries()) {
      const r = fanline(["new", slugs[i], "--template", t, "--title", `My ${t}`], { cwd: copy, env });
      assert.equal(r.code, 0, r.all);
      assert.match(r.out, new RegExp(`Created apps/${slugs[i]}/ from the ${t} template`));
    }
    assert.equal(fanline(["check"], { cwd: copy, env }).code, 0);
    assert.match(fs.readFileSync(path.join(copy, "Cargo.toml"), "utf8"), new RegExp(slugs.map((s) => `"apps/${s}"`).join(", ")));
    for (const s of slugs) {
      const b = spawnSync("sh", [path.join(copy, "scripts/build-worker.sh"), "."], { cwd: path.join(copy, "apps", s), encoding: "utf8", env: { ...process.env, ...env, FANLINE_LOCAL_BUILD: "1", FANLINE_PREBUILT: "" } });
      assert.equal(b.status, 0, `${s}: ${b.stderr.slice(-2000)}`);
    }

    const stack = await import(pathToFileURL(path.join(copy, "scripts/stack.mjs")).href);
    const stripe = await startStripe();
    const turnstile = await startTurnstile();
    const stateDir = path.join(copy, ".fanline/state");
    const s = await stack.startStack({ stateDir, stripe, turnstile, creators: [{ id: "cr_first", name: "First Creator", email: "first@creator.test" }] });
    stripe.addWebhookEndpoint(`${s.url}/webhooks/payment`);
    let beforeEtag, beforeScript;
    try {
      let ip = 0;
      const call = async (method, p, { json, key } = {}) => {
        const headers = { "cf-connecting-ip": `203.0.113.${++ip}`, ...(json ? { "content-type": "application/json" } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) };
        const r = await fetch(`${s.url}${p}`, { method, headers, body: json ? JSON.stringify(json) : undefined });
        return { status: r.status, data: await r.json().catch(() => null) };
      };
      const catalog = (await call("GET", "/api/apps")).data.apps;
      for (const [i, slug] of slugs.entries()) {
        const card = catalog.find((a) => a.slug === slug);
        assert.ok(card, `${slug} registered itself in the catalog`);
        assert.equal(card.title, `My ${TEMPLATES[i]}`);
        assert.deepEqual(card.creator, { id: "cr_first", name: "First Creator", url: `${s.url}/c/cr_first` });
        const manifest = JSON.parse(fs.readFileSync(path.join(copy, "apps", slug, "manifest.json"), "utf8"));
        const value = (f) => (f.type === "choice" ? (typeof f.options[0] === "string" ? f.options[0] : f.options[0].value) : f.type === "email" ? "fan@example.com" : "Hello from the CLI test");
        const fields = Object.fromEntries(manifest.fields.filter((f) => f.required && f.type !== "file").map((f) => [f.name, value(f)]));
        const files = manifest.fields.filter((f) => f.required && f.type === "file");
        let r;
        if (manifest.auction) {
          const owner = s.creators[0].apiKey;
          const auction = await call("POST", `/apps/${slug}/api/auctions`, { key: owner, json: { title: "Slots", slots: 1, duration_secs: 600 } });
          assert.equal(auction.status, 201, JSON.stringify(auction.data));
          r = await call("POST", `/apps/${slug}/api/auctions/${auction.data.id}/bids`, { json: { fields, bid: manifest.auction.starting_bid, turnstile_token: "XXXX.DUMMY.TOKEN.XXXX" } });
        } else if (files.length) {
          // A commission takes its reference image as multipart form data.
          const form = new FormData();
          for (const [k, v] of Object.entries(fields)) form.append(k, v);
          for (const f of files) form.append(f.name, new Blob([tinyPng()], { type: "image/png" }), "ref.png");
          const res = await fetch(`${s.url}/apps/${slug}/api/requests`, { method: "POST", headers: { "cf-connecting-ip": `203.0.113.${++ip}` }, body: form });
          r = { status: res.status, data: await res.json() };
        } else {
          r = await call("POST", `/apps/${slug}/api/requests`, { json: { fields, ...(manifest.turnstile ? { turnstile_token: "XXXX.DUMMY.TOKEN.XXXX" } : {}) } });
        }
        assert.equal(r.status, 201, `${slug}: ${JSON.stringify(r.data)}`);
        assert.equal(r.data.app, slug);
        assert.equal(r.data.status, manifest.pricing.base > 0 || manifest.auction ? "awaiting_payment" : "queued", slug);
      }
      assert.match(catalog.find((a) => a.slug === "my-auction-slot").price_summary, /^bids from \$/);
      assert.equal(catalog.find((a) => a.slug === "my-tip-jar").price_summary, "free, tips welcome");

      // The form page as served before its manifest changes (compared after the rebuild below).
      const before = await fetch(`${s.url}/apps/my-blank/`);
      beforeEtag = before.headers.get("etag");
      beforeScript = (await before.text()).match(/embed\.js\?v=([0-9a-f]+)/)?.[1];
      assert.ok(beforeEtag && beforeScript, "the form page has an ETag and a versioned embed script");

      // Deploying to the local stack registers each app from its manifest as it is now.
      const manifestFile = path.join(copy, "apps/my-blank/manifest.json");
      fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestFile, "utf8")), title: "Renamed by a deploy" }, null, 2));
      const deployed = fanline(["deploy", "--local", "--state", stateDir], { cwd: copy, env });
      assert.equal(deployed.code, 0, deployed.all);
      assert.match(deployed.out, /register {4}apps row "my-blank" \("Renamed by a deploy"\)/);
      const renamed = (await call("GET", "/api/apps?q=renamed")).data.apps;
      assert.deepEqual(renamed.map((a) => [a.slug, a.title]), [["my-blank", "Renamed by a deploy"]]);

      // A creator registered from the command line can use the creator API with the printed key.
      const added = fanline(["creator", "add", "--name", "DJ Nova", "--email", "nova@example.com", "--id", "cr_nova", "--state", stateDir], { cwd: copy, env });
      assert.equal(added.code, 0, added.all);
      const key = /^\s+(fl_live_\w+)$/m.exec(added.out)[1];
      const keys = await call("GET", "/api/creator/keys", { key });
      assert.equal(keys.status, 200, JSON.stringify(keys.data));
      assert.equal(keys.data.keys[0].last4, key.slice(-4));
      assert.match(fanline(["creator", "add", "--name", "Again", "--email", "nova@example.com", "--state", stateDir], { cwd: copy, env }).err, /a creator with email nova@example.com exists already/);
    } finally {
      await s.stop();
    }

    // A changed manifest is a new version of every page cached from it: rebuilt and served
    // again, the form page has a new ETag and names a new embed script, and a browser or edge
    // cache holding the old ETag gets the new page rather than a 304.
    try {
      const rebuilt = spawnSync("sh", [path.join(copy, "scripts/build-worker.sh"), "."], { cwd: path.join(copy, "apps/my-blank"), encoding: "utf8", env: { ...process.env, ...env, FANLINE_LOCAL_BUILD: "1", FANLINE_PREBUILT: "" } });
      assert.equal(rebuilt.status, 0, rebuilt.stderr.slice(-2000));
      const again = await stack.startStack({ stateDir: path.join(copy, ".fanline/state-rebuilt"), stripe, turnstile, creators: [{ id: "cr_first", name: "First Creator", email: "first@creator.test" }] });
      try {
        const after = await fetch(`${again.url}/apps/my-blank/`, { headers: { "if-none-match": beforeEtag } });
        assert.equal(after.status, 200, "the old ETag no longer matches");
        const page = await after.text();
        assert.match(page, /Renamed by a deploy/);
        assert.match(after.headers.get("etag") ?? "", /^"[0-9a-f]{20}"$/);
        assert.notEqual(after.headers.get("etag"), beforeEtag);
        const script = page.match(/embed\.js\?v=([0-9a-f]+)/)?.[1];
        assert.ok(script && script !== beforeScript, `the page names a new embed script (${beforeScript} then ${script})`);
        const current = await fetch(`${again.url}/apps/my-blank/embed.js?v=${script}`);
        assert.equal(current.status, 200);
        assert.match(current.headers.get("cache-control") ?? "", /immutable/);
        assert.match(await current.text(), /Renamed by a deploy/);
      } finally {
        await again.stop();
      }
    } finally {
      await Promise.all([stripe.close(), turnstile.close()]);
    }
  });
});
