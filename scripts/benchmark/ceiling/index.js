// The runtime's ceiling: a Worker that only answers.
//
// `/copy` answers whatever body and headers the benchmark last PUT there (it puts the form
// page's own answer): wrangler's dev proxy runs every text/html answer through an
// HTMLRewriter (to add its live-reload script), so the form page is also compared with an
// empty Worker sending the very same bytes and headers, which pays the same.
let copy = null;

export default {
  async fetch(request) {
    if (new URL(request.url).pathname !== "/copy") return new Response("ok");
    if (request.method === "PUT") {
      copy = await request.json();
      return new Response(null, { status: 204 });
    }
    return copy ? new Response(copy.body, { headers: copy.headers }) : new Response("nothing was put here", { status: 404 });
  },
};
