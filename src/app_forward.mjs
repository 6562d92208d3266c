// Which requests the hub's entry hands straight to an app's Worker: a fan's submission and an
// auction bid (and their CORS preflights), the requests that come in a live stream's burst.
// The Rust hub would forward them unchanged too (`routes.rs`, `app_link::call`); taking them
// here skips entering the wasm module, about 0.12 ms of CPU per request on the local runtime
// (docs/performance.md, "Intake forwarded by the entry"). Anything this does not recognise
// exactly, or whose app has no binding, goes to the Rust hub, which answers it as before.
// Plain JavaScript with no Workers import, so Node tests it (tests/platform-app-forward.test.mjs).

// The slug rule is `fanline_core::manifest::is_slug`; an id segment the app parses itself.
const FORWARDED = /^\/apps\/([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)\/api\/(?:requests|auctions\/[A-Za-z0-9_-]{1,64}\/bids)$/;

/** The app Worker's service binding (`APP_<SLUG>`) that should answer `request`, or null. */
export function forwardedTo(env, request) {
  if (request.method !== "POST" && request.method !== "OPTIONS") return null;
  // A hub without its public origin refuses all work outside local development; the Rust
  // hub says so.
  if (!env.PUBLIC_ORIGIN) return null;
  const match = FORWARDED.exec(new URL(request.url).pathname);
  return (match && env[`APP_${match[1].toUpperCase().replaceAll("-", "_")}`]) || null;
}

/** What the Rust hub answers when an app's Worker could not be reached (`ApiError::Internal`). */
export function unreachable(error) {
  console.error(`500: an app's Worker could not be reached: ${error}`);
  const body = JSON.stringify({ error: { code: "internal", message: "Something went wrong on our side; please try again." } });
  return new Response(body, { status: 500, headers: { "content-type": "application/json; charset=utf-8", "x-content-type-options": "nosniff" } });
}
