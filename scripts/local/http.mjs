// Tiny helpers for the local stand-in servers.
import http from "node:http";

export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/html; charset=utf-8" : "application/json", ...headers });
  res.end(text);
}

/** Starts `handler` on a loopback port (0: a free one); resolves to { url, port, server, close }. */
export function listen(handler, port = 0) {
  const server = http.createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err) => send(res, 500, { error: { message: String(err) } }));
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, port, server, close: () => new Promise((r) => server.close(r)) });
    });
  });
}
