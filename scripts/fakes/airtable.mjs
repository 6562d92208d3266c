// Airtable's Web API (records in a table): the same paths, authentication, validation
// errors and resource shapes as the real API, with a call log (`GET /_calls`) so tests can
// check the wire format.
import { alnum, hex, send, startApi } from "./server.mjs";

/**
 * Airtable Web API: `POST /v0/{baseId}/{tableIdOrName}` creating records (at most 10), and
 * `GET` on the same path listing them with `filterByFormula` and `maxRecords`.
 */
export async function startAirtable({ port = 0, fields = ["Request", "App", "Title", "Status", "Price", "Link", "Details", "Created"] } = {}) {
  const token = `pat${alnum(14)}.${hex(64)}`;
  const baseId = `app${alnum(14)}`;
  const table = "Fan requests";
  const records = [];
  const api = await startApi(port, (call, res) => {
    const error = (status, type, message) => send(res, status, { error: message ? { type, message } : type });
    if (call.headers.authorization !== `Bearer ${token}`) return error(401, "AUTHENTICATION_REQUIRED", "Authentication required");
    const m = /^\/v0\/([^/]+)\/([^/]+)$/.exec(call.path);
    if (!m || m[1] !== baseId) return error(404, "NOT_FOUND");
    if (decodeURIComponent(m[2]) !== table) return error(404, "TABLE_NOT_FOUND", `Could not find table ${decodeURIComponent(m[2])} in application ${baseId}`);
    if (call.method === "GET") {
      // filterByFormula: the subset Fanline sends, AND({Field}='text',...) of exact matches.
      const formula = call.query.filterByFormula ?? "";
      const conditions = [...formula.matchAll(/\{([^}]+)\}='((?:[^'\\]|\\.)*)'/g)].map(([, field, value]) => [field, value.replace(/\\(.)/g, "$1")]);
      if (formula && conditions.length === 0) return error(422, "INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid");
      const matching = records.filter((r) => conditions.every(([field, value]) => String(r.fields[field] ?? "") === value));
      const max = Number(call.query.maxRecords ?? matching.length);
      return send(res, 200, { records: matching.slice(0, max) });
    }
    if (call.method !== "POST") return error(404, "NOT_FOUND");
    const list = call.json?.records;
    if (!Array.isArray(list) || list.length < 1 || list.length > 10) return error(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects, each with a fields key.");
    for (const r of list) {
      const unknown = Object.keys(r.fields ?? {}).find((f) => !fields.includes(f));
      if (unknown) return error(422, "UNKNOWN_FIELD_NAME", `Unknown field name: "${unknown}"`);
    }
    const created = list.map((r) => ({ id: `rec${alnum(14)}`, createdTime: new Date().toISOString(), fields: r.fields }));
    records.push(...created);
    return send(res, 200, { records: created });
  });
  return { ...api, token, baseId, table, records };
}
