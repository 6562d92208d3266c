// Notion's API (pages in a database): the same paths, authentication, validation
// errors and resource shapes as the real API, with a call log (`GET /_calls`) so tests can
// check the wire format.
import crypto from "node:crypto";
import { alnum, send, startApi } from "./server.mjs";

/** Notion API: `POST /v1/pages` into a database whose title property is `Name`. */
export async function startNotion({ port = 0 } = {}) {
  const token = `ntn_${alnum(40)}`;
  const databaseId = crypto.randomUUID();
  const pages = [];
  const api = await startApi(port, (call, res) => {
    const error = (status, code, message) => send(res, status, { object: "error", status, code, message });
    if (call.headers.authorization !== `Bearer ${token}`) return error(401, "unauthorized", "API token is invalid.");
    if (!call.headers["notion-version"]) return error(400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.");
    if (call.method !== "POST" || call.path !== "/v1/pages") return error(400, "invalid_request_url", "Invalid request URL.");
    const body = call.json;
    if (!body) return error(400, "invalid_json", "Error parsing JSON body.");
    const parent = String(body.parent?.database_id ?? "").replace(/-/g, "");
    if (parent !== databaseId.replace(/-/g, "")) return error(404, "object_not_found", `Could not find database with ID: ${body.parent?.database_id}. Make sure the relevant pages and databases are shared with your integration.`);
    const names = Object.keys(body.properties ?? {});
    const unknown = names.find((n) => n !== "Name");
    if (unknown) return error(400, "validation_error", `${unknown} is not a property that exists.`);
    const title = body.properties?.Name?.title;
    if (!Array.isArray(title)) return error(400, "validation_error", "body.properties.Name.title should be an array.");
    const blocks = body.children ?? [];
    if (blocks.length > 100) return error(400, "validation_error", "body.children.length should be ≤ `100`.");
    for (const text of [...title, ...blocks.flatMap((b) => b.paragraph?.rich_text ?? [])]) {
      if ((text.text?.content ?? "").length > 2000) return error(400, "validation_error", "body.children[0].paragraph.rich_text[0].text.content.length should be ≤ `2000`.");
    }
    const id = crypto.randomUUID();
    const page = { object: "page", id, created_time: new Date().toISOString(), parent: { type: "database_id", database_id: databaseId }, archived: false, properties: body.properties, url: `https://www.notion.so/${id.replace(/-/g, "")}` };
    pages.push({ ...page, children: blocks });
    return send(res, 200, page);
  });
  return { ...api, token, databaseId, pages };
}
