// POST /api/requests with {"fields": {"song", "artist"?, "message"?}}: the body is validated the
// way a zod schema would check it, then stored with one INSERT ... RETURNING.
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

function validate(body) {
  const fields = body?.fields;
  if (typeof fields !== "object" || fields === null) return "fields must be an object";
  if (typeof fields.song !== "string" || fields.song.trim().length === 0 || fields.song.length > 120) return "song is 1 to 120 characters";
  for (const name of ["artist", "message"]) {
    if (fields[name] !== undefined && (typeof fields[name] !== "string" || fields[name].length > 300)) return `${name} is text up to 300 characters`;
  }
  return null;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/api/requests") return json(404, { error: "not found" });
    if (request.method !== "POST") return json(405, { error: "method not allowed" });
    let body;
    try {
      body = await request.json();
    } catch {
      return json(400, { error: "invalid JSON" });
    }
    const problem = validate(body);
    if (problem) return json(400, { error: problem });
    const { song, artist = null, message = null } = body.fields;
    const row = await env.DB.prepare("INSERT INTO requests (id, song, artist, message, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *")
      .bind(crypto.randomUUID(), song, artist, message, Date.now())
      .first();
    return json(201, row);
  },
};
