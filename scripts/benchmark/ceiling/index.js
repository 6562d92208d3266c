// `/page` answers a few bytes of HTML: wrangler's dev proxy runs every text/html answer through
// an HTMLRewriter (to add its live-reload script), so a page is compared with a ceiling that
// pays the same.
const PAGE = "<!doctype html><title>ok</title><p>ok</p>";

export default {
  fetch(request) {
    if (new URL(request.url).pathname === "/page") return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    return new Response("ok");
  },
};
