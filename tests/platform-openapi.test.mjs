// The API contract: docs/openapi.json is what scripts/openapi/spec.mjs generates and what the
// hub serves; every answer the suite receives is checked against it (tests/support/contract.mjs);
// and schemathesis, from PyPI, fuzzes every operation on the local stack for 5xx answers,
// answers that break their schema and status codes the document does not list.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { render, specPath } from "../scripts/openapi/spec.mjs";
import { spec, validateWebhookEvent } from "./support/contract.mjs";
import { eventually, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(() => f?.stop());

describe("the OpenAPI document", () => {
  test("is generated from its source, served by the hub and open to any origin", async () => {
    assert.equal(fs.readFileSync(specPath, "utf8"), render(), "docs/openapi.json is stale: node scripts/openapi/spec.mjs --write");
    const served = await f.request("GET", "/openapi.json");
    assert.equal(served.status, 200);
    assert.deepEqual(served.data, spec);
    assert.equal(served.headers.get("access-control-allow-origin"), "*");
    assert.equal(served.data.openapi, "3.1.0");
  });

  test("every operation has a success answer and documents its errors with the error shape", () => {
    for (const [p, item] of Object.entries(spec.paths)) {
      for (const [verb, op] of Object.entries(item)) {
        const statuses = Object.keys(op.responses);
        assert.ok(statuses.some((s) => /^[23]/.test(s)), `${verb} ${p} has a 2xx or 3xx answer`);
        assert.ok(op.summary, `${verb} ${p} has a summary`);
      }
    }
  });

  test("an answer the document does not describe is caught", async () => {
    const { checkExchange } = await import("./support/contract.mjs");
    assert.throws(() => checkExchange({ method: "GET", path: "/apps/x/api/status", status: 200, contentType: "application/json", data: { open: "yes" } }), /body does not match/);
    assert.throws(() => checkExchange({ method: "GET", path: "/apps/x/api/status", status: 418, contentType: "application/json", data: {} }), /not documented/);
    assert.throws(() => checkExchange({ method: "GET", path: "/nowhere", status: 200, contentType: "application/json", data: {} }), /not in docs\/openapi.json/);
    const status = { app: "x", open: true, state: "live", in_queue: 0 };
    checkExchange({ method: "GET", path: "/apps/x/api/status", status: 200, contentType: "application/json", data: status });
    assert.throws(() => checkExchange({ method: "GET", path: "/apps/x/api/status", status: 200, contentType: "application/json", data: { ...status, surprise: 1 } }), /keys not in docs\/openapi.json's .*: \.surprise/);
  });
});

describe("outgoing webhooks", () => {
  const doc = fs.readFileSync(path.join(import.meta.dirname, "../docs/webhooks.md"), "utf8");
  const jsonBlocks = [...doc.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => JSON.parse(m[1]));

  test("docs/webhooks.md shows the contract's schema, an example for every event, each valid", () => {
    const [schema, ...examples] = jsonBlocks;
    const { $schema, title, ...shown } = schema;
    const expected = structuredClone(spec.components.schemas.WebhookEvent);
    expected.properties.data.properties.price = spec.components.schemas.Money;
    assert.deepEqual(shown, expected, "the schema in docs/webhooks.md is the one in docs/openapi.json");
    assert.deepEqual(examples.map((e) => e.type).sort(), Object.keys(spec.webhooks).sort(), "one example per event");
    for (const example of examples) assert.equal(validateWebhookEvent(example), null, example.type);
  });

  test("real deliveries match it, and docs/webhooks.md's Python example verifies one", async () => {
    const paid = await f.submit("song-request", { song: "Contract", artist: "Check", email: "fan@example.com" }, { addOns: ["priority"] });
    await fetch(paid.data.checkout_url, { method: "POST" });
    await eventually(async () => (await f.request("GET", `/apps/song-request/api/requests/${paid.data.id}`)).data.status === "queued", { what: "paid" });
    await f.request("POST", `/apps/song-request/api/requests/${paid.data.id}/complete`, { key: f.owner.apiKey, json: { note: "done" } });
    await f.request("POST", "/api/apps/song-request/destinations/webhook/test", { key: f.owner.apiKey });
    const received = await eventually(() => {
      const types = new Set(f.webhooks.received.map((m) => m.json?.type));
      return ["request.queued", "request.fulfilled", "request.test"].every((t) => types.has(t)) && f.webhooks.received;
    }, { what: "queued, fulfilled and test webhooks" });
    for (const m of received) assert.equal(validateWebhookEvent(m.json), null, m.raw);

    const python = doc.match(/^```python\n([\s\S]*?)^```$/m)[1];
    const hook = received.find((m) => m.json.type === "request.fulfilled");
    const script = `${python}\nimport json, sys\nm = json.load(sys.stdin)\nprint(verify(m["raw"].encode(), m["headers"], m["secret"])["type"])\ntry:\n    verify(m["raw"].replace("Contract", "Forged").encode(), m["headers"], m["secret"])\n    print("forged accepted")\nexcept Exception as e:\n    print("forged refused:", type(e).__name__)\n`;
    const pythonBin = path.join(path.dirname(process.env.SCHEMATHESIS), "python");
    const input = JSON.stringify({ raw: hook.raw, headers: { "webhook-id": hook.headers["webhook-id"], "webhook-timestamp": hook.headers["webhook-timestamp"], "webhook-signature": hook.headers["webhook-signature"] }, secret: f.stack.webhookSecrets["song-request"] });
    const out = await new Promise((resolve, reject) => {
      const child = execFile(pythonBin, ["-c", script], (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)));
      child.stdin.end(input);
    });
    assert.equal(out, "request.fulfilled\nforged refused: WebhookVerificationError\n");
  });
});

describe("schemathesis", () => {
  test("finds no 5xx, no schema violation and no undocumented status in any operation", { timeout: 600_000 }, async () => {
    const bin = process.env.SCHEMATHESIS;
    assert.ok(bin && fs.existsSync(bin), "scripts/tools.sh installs schemathesis (FANLINE_NEEDS_SCHEMATHESIS=1)");
    const report = path.join(f.stack.stateDir, "schemathesis");
    const args = [
      "run", `${f.url}/openapi.json`,
      "--url", f.url,
      "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
      "--max-examples", "20",
      "--seed", "20261201",
      "--phases", "examples,fuzzing",
      "--header", `Authorization: Bearer ${f.owner.apiKey}`,
      // Revoking the key it runs with would leave every later creator call a 401; the suite
      // covers revocation (hub-console tests).
      "--exclude-operation-id", "deleteApiCreatorKeysById",
      "--request-timeout", "20",
      "--suppress-health-check", "all",
      "--report", "junit", "--report-dir", report,
      "--no-color",
    ];
    const { code, out } = await new Promise((resolve) => execFile(bin, args, { cwd: f.stack.stateDir, maxBuffer: 64 << 20, env: { ...process.env, SCHEMATHESIS_HOOKS: "" } }, (error, stdout, stderr) => resolve({ code: error?.code ?? 0, out: `${stdout}\n${stderr}` })));
    fs.writeFileSync(path.join(f.stack.stateDir, "schemathesis.log"), out);
    assert.equal(code, 0, out.slice(-6000));
    assert.match(out, /passed/);
  });
});
