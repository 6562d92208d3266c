// Holds every answer the suite receives to the OpenAPI document (docs/openapi.json): an
// undocumented path, method, status or content type, a body that does not match its schema,
// or a key the schema does not name, throws, and so fails the test that received it.
import fs from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { specPath } from "../../scripts/openapi/spec.mjs";

export const spec = JSON.parse(fs.readFileSync(specPath, "utf8"));

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: "fanline", components: spec.components }, "fanline");

const routes = Object.entries(spec.paths)
  .map(([template, item]) => ({
    template,
    item,
    params: (template.match(/\{/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }))
  // A literal segment wins over a parameter (`/deliveries/replay` over `/deliveries/{id}`).
  .sort((a, b) => a.params - b.params);

const validators = new Map();
function validatorFor(schema) {
  const key = JSON.stringify(schema);
  if (!validators.has(key)) {
    const rewritten = JSON.parse(key.replaceAll('"#/components/', '"fanline#/components/'));
    validators.set(key, ajv.compile(rewritten));
  }
  return validators.get(key);
}

/** Where the document says nothing, by design: the console's own session API and pages. */
const outside = (p) => p.startsWith("/console/") || p === "/console";

const resolve = (node) => (node?.$ref ? node.$ref.split("/").slice(1).reduce((o, k) => o[k], spec) : node);

export function checkExchange({ method, path: rawPath, status, contentType, data }) {
  // Matched as sent: a parameter may hold an encoded `/` (an IPv6 /64 in the block list).
  const p = rawPath.split("?")[0];
  if (outside(p)) return;
  const where = `${method} ${rawPath} -> ${status}`;
  const route = routes.find((r) => r.pattern.test(p));
  const verb = method.toLowerCase();
  const errorShape = () => {
    const validate = validatorFor({ $ref: "#/components/schemas/Error" });
    if (!validate(data)) throw new Error(`OpenAPI: ${where}: not the error shape: ${ajv.errorsText(validate.errors)}`);
  };
  if (!route || !route.item[verb]) {
    if (verb === "options" && status === 204) return; // CORS preflight
    if (status === 404 || status === 405) return errorShape();
    throw new Error(`OpenAPI: ${where}: ${route ? "method" : "path"} not in docs/openapi.json`);
  }
  const operation = route.item[verb];
  const response = resolve(operation.responses[String(status)]);
  if (!response) throw new Error(`OpenAPI: ${where}: status ${status} not documented for ${method} ${route.template}`);
  if (!response.content || status === 304 || verb === "head") return;
  const media = (contentType ?? "").split(";")[0].trim();
  const documented = response.content[media] ?? (media.startsWith("image/") || media === "application/pdf" ? response.content["application/octet-stream"] : undefined);
  if (!documented) throw new Error(`OpenAPI: ${where}: content type ${media || "(none)"} not documented (${Object.keys(response.content).join(", ")})`);
  if (media === "application/json" && documented.schema) {
    const validate = validatorFor(documented.schema);
    if (!validate(data)) throw new Error(`OpenAPI: ${where}: body does not match ${route.template}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(data).slice(0, 800)}`);
    // Every key an answer carries is one a reader of the document can find.
    const unnamed = undocumentedKeys(documented.schema, data);
    if (unnamed.length) throw new Error(`OpenAPI: ${where}: keys not in docs/openapi.json's ${route.template}: ${unnamed.join(", ")}`);
  }
}

/** Null when `event` is a webhook body as docs/openapi.json's `webhooks` describe it, else why not. */
export function validateWebhookEvent(event) {
  if (!spec.webhooks?.[event?.type]) return `no webhook named ${event?.type}`;
  const validate = validatorFor({ $ref: "#/components/schemas/WebhookEvent" });
  return validate(event) ? null : ajv.errorsText(validate.errors);
}

/**
 * The keys of `data` (by path) that `schema` does not name. An object schema that names its
 * properties documents its keys; one that names none (`{"type": "object"}`) or describes a map
 * (`additionalProperties`) is open. Of `allOf`, the parts' keys together; of `anyOf`/`oneOf`,
 * the one object alternative (`nullable`), else none is judged.
 */
export function undocumentedKeys(schema, data, at = "") {
  schema = resolve(schema);
  if (!schema || data === null || typeof data !== "object") return [];
  if (Array.isArray(data)) return schema.items ? data.flatMap((d, i) => undocumentedKeys(schema.items, d, `${at}[${i}]`)) : [];
  const objects = (list) => list.map(resolve).filter((s) => s && (s.type === "object" || s.properties || s.allOf));
  if (schema.anyOf || schema.oneOf) {
    const alternatives = objects(schema.anyOf ?? schema.oneOf);
    return alternatives.length === 1 ? undocumentedKeys(alternatives[0], data, at) : [];
  }
  let properties = schema.properties;
  if (schema.allOf) {
    const parts = objects(schema.allOf);
    if (parts.some((p) => !p.properties || p.additionalProperties !== undefined)) return [];
    properties = Object.assign({}, properties, ...parts.map((p) => p.properties));
  }
  if (!properties || schema.additionalProperties !== undefined) return [];
  return Object.entries(data).flatMap(([k, v]) => (k in properties ? undocumentedKeys(properties[k], v, `${at}.${k}`) : [`${at}.${k}`]));
}
