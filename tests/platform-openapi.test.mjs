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
import { spec } from "./support/contract.mjs";
import { startFixture } from "./support/fixture.mjs";

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
