// `fanline app`: an app's lifecycle from the command line, through the hub's creator API
// (the same calls the console makes): show it, change its state, make or revoke invite links.
import { UsageError } from "./new.mjs";

export const help = `fanline app show <slug>
fanline app state <slug> <draft|live|paused|invite_only|archived> [--message "..."] [--reason "..."]
                  [--open-requests fulfil|refund|move] [--successor <slug>]
fanline app invite <slug> [--label "..."]
fanline app revoke <slug> <invite id>

Talks to the hub at --url (default $FANLINE_URL, else http://127.0.0.1:8787, what ./scripts/dev
serves) with the creator API key --key (default $FANLINE_API_KEY).

  state     draft: only you, through the preview link (its requests are tests, left out of
            the numbers); live: in the catalog; paused: the form shows --message and refuses
            new requests; invite_only: not listed, open through invite links; archived: closed
            for good; fans with open requests are told what happens (--open-requests: fulfil,
            the default; refund; move, which refunds and points them to --successor)
  invite    prints a new invite link once (for invite_only apps)`;

async function call(method, path, { url, key, json }) {
  let r;
  try {
    r = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(json ? { "content-type": "application/json" } : {}) }, body: json ? JSON.stringify(json) : undefined });
  } catch (e) {
    throw new UsageError(`cannot reach the hub at ${url} (${e.cause?.code ?? e.message}); start ./scripts/dev or pass --url`);
  }
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) throw new UsageError(`${r.status} ${body?.error?.code ?? ""}: ${body?.error?.message ?? "the hub refused the call"}`);
  return body;
}

export async function run(args, option) {
  const [sub, slug, arg] = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  const url = (option("--url") ?? process.env.FANLINE_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
  const key = option("--key") ?? process.env.FANLINE_API_KEY;
  if (!key) throw new UsageError("a creator API key is needed: --key fl_live_... or FANLINE_API_KEY (fanline creator add prints one)");
  if (!slug) throw new UsageError(`which app? e.g. fanline app ${sub ?? "show"} song-request`);
  const ctx = { url, key };
  if (sub === "show") {
    const s = await call("GET", `/api/apps/${slug}/state`, ctx);
    console.log(`${slug}: ${s.state}${s.message ? ` ("${s.message}")` : ""}${s.successor ? `, fans pointed to ${s.successor}` : ""}`);
    if (s.preview_url && s.state === "draft") console.log(`preview: ${s.preview_url}`);
    for (const i of s.invites) console.log(`invite ${i.id}${i.label ? ` (${i.label})` : ""}${i.revoked_at ? " revoked" : ""}`);
    for (const h of s.history) console.log(`${h.at}  ${h.from} -> ${h.to}  by ${h.actor}${h.reason ? `: ${h.reason}` : ""}`);
    return 0;
  }
  if (sub === "state") {
    if (!arg) throw new UsageError("which state? one of draft, live, paused, invite_only, archived");
    const body = { state: arg };
    for (const [flag, field] of [["--message", "message"], ["--reason", "reason"], ["--open-requests", "open_requests"], ["--successor", "successor"]]) {
      if (option(flag) !== undefined) body[field] = option(flag);
    }
    const r = await call("POST", `/api/apps/${slug}/state`, { ...ctx, json: body });
    console.log(`${slug}: ${r.previous} -> ${r.state}`);
    if (r.open_requests) {
      const o = r.open_requests;
      console.log(`open requests: ${o.count} (${o.plan}); ${o.notified} fans told; ${o.settled.length} settled; ${o.failed.length} failed`);
      for (const f of o.failed) console.log(`  ${f.id} ${f.action}: ${f.error?.message ?? "failed"}`);
    }
    return 0;
  }
  if (sub === "invite") {
    const r = await call("POST", `/api/apps/${slug}/invites`, { ...ctx, json: option("--label") ? { label: option("--label") } : {} });
    console.log(`invite ${r.id}: ${r.url}\n(shown once; revoke with: fanline app revoke ${slug} ${r.id})`);
    return 0;
  }
  if (sub === "revoke") {
    if (!arg) throw new UsageError("which invite? fanline app show <slug> lists their ids");
    await call("DELETE", `/api/apps/${slug}/invites/${arg}`, ctx);
    console.log(`invite ${arg} revoked`);
    return 0;
  }
  throw new UsageError(`unknown app command "${sub ?? ""}"; one of show, state, invite, revoke`);
}
