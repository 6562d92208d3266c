// docs/quickstart.md, run as a new developer would: its shell blocks in order, in one shell,
// against `./scripts/dev`, and its JavaScript block with the SDK it installed. Two changes
// only: the marketplace starts with --no-build (the test command has just built every Worker)
// and --no-demo-history (the quickstart does not look at it).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const doc = fs.readFileSync(path.join(ROOT, "docs/quickstart.md"), "utf8");
const blocks = [...doc.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map(([, lang, code]) => ({ lang, code }));
const children = [];

/** Runs a command in its own process group (so what it leaves in the background can be stopped). */
function run(command, args, options = {}) {
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], ...options });
  children.push(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const done = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, done };
}

after(async () => {
  for (const child of children.reverse()) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
  await new Promise((r) => setTimeout(r, 2000));
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
});

test("docs/quickstart.md works as written: embed, a paid request, a verified webhook, fulfilled", { timeout: 600_000 }, async () => {
  const [start, ...shell] = blocks.filter((b) => b.lang === "sh");
  assert.equal(start.code.trim(), "./scripts/dev", "the quickstart starts with the dev command");
  fs.rmSync(path.join(ROOT, ".fanline/dev.env"), { force: true });
  const dev = run(path.join(ROOT, "scripts/dev"), ["--no-build", "--no-demo-history"]);
  const deadline = Date.now() + 180_000;
  while (!dev.output().includes("Fanline is running")) {
    assert.ok(Date.now() < deadline, `dev did not start:\n${dev.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }

  const script = ["set -euo pipefail", ...shell.map((b) => b.code)].join("\n");
  const steps = run("bash", ["-c", script]);
  const code = await steps.done;
  const out = steps.output();
  assert.equal(code, 0, out);
  assert.match(out, /marketplace: http:\/\/127\.0\.0\.1:8787/);
  assert.match(out, /"status":"awaiting_payment"/);
  const id = out.match(/"id":"(req_[0-9a-f]{32})"/)[1];
  assert.match(out, /^queued$/m, "paid, so queued");
  assert.match(out, new RegExp(`verified request\\.queued ${id}`), "the endpoint verified the queued webhook with the SDK");
  assert.match(out, /^fulfilled$/m);
  assert.match(out, new RegExp(`verified request\\.fulfilled ${id}`));
  assert.doesNotMatch(out, /refused:/);

  // The JavaScript example, with the SDK the quickstart installed.
  const js = blocks.find((b) => b.lang === "js");
  fs.writeFileSync("/tmp/my-hooks/quickstart-example.mjs", js.code + '\nconsole.log("queue", requests.length);\n');
  const env = Object.fromEntries(fs.readFileSync(path.join(ROOT, ".fanline/dev.env"), "utf8").trim().split("\n").map((l) => l.replace(/^export /, "").split("=")).map(([k, v]) => [k, v.replace(/^'|'$/g, "")]));
  const example = run("node", ["quickstart-example.mjs"], { cwd: "/tmp/my-hooks", env: { ...process.env, ...env } });
  assert.equal(await example.done, 0, example.output());
  assert.match(example.output(), /^awaiting_payment http:\/\/127\.0\.0\.1:8788\/c\/pay\/cs_test_/m);
  assert.match(example.output(), /^queue \d+$/m);
});

// docs/live.md's "Trying it locally", against the same running `./scripts/dev`: a Twitch
// channel connected, a viewer's `!sr` answered in chat; a YouTube broadcast likewise.
test("docs/live.md's local walk-through works as written", { timeout: 300_000 }, async () => {
  const live = fs.readFileSync(path.join(ROOT, "docs/live.md"), "utf8");
  const section = live.slice(live.indexOf("## Trying it locally"));
  const shell = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map(([, code]) => code);
  assert.equal(shell.length, 2, "a Twitch block and a YouTube block");
  const script = ["set -euo pipefail", ". .fanline/dev.env", ...shell].join("\n");
  const steps = run("bash", ["-c", script]);
  const code = await steps.done;
  const out = steps.output();
  assert.equal(code, 0, out);
  assert.match(out, /^Twitch connected$/m);
  assert.match(out, /^@luna_fan "Africa - Toto" is #\d+ in the queue\.$/m);
  assert.match(out, /^YouTube connected$/m);
  assert.match(out, /^@Ada "Hello - Adele" is #\d+ in the queue\.$/m);
});
