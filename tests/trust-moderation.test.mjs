// Moderation rules (issue 4, item 1) through the real stack, on the song-request app's rules:
// look-alike spellings of blocked terms, the honeypot, the minimum fill time with a signed form
// token, the link allowlist, shouting and repeated characters. Blocks never say which rule fired.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const submit = (json, ip) => f.request("POST", "/apps/song-request/api/requests", { json, ip });
const verdict = async (id) => (await f.request("GET", `/apps/song-request/api/requests/${id}`, { key: f.owner.apiKey })).data.moderation;
// The fan's form and its submission come from one address: a token is bound to it.
const fanIp = "203.0.113.40";
const formToken = async (ip = fanIp) => (await f.request("GET", "/apps/song-request/api/form-token", { ip })).data.form_token;

async function blockedBy(json, rule, ip) {
  const r = await submit(json, ip);
  assert.equal(r.status, 422, r.text);
  assert.deepEqual(Object.keys(r.data.error).sort(), ["code", "message", "request_id"]);
  assert.equal(r.data.error.code, "request_rejected");
  assert.doesNotMatch(r.text, new RegExp(rule));
  const v = await verdict(r.data.error.request_id);
  assert.equal(v.decision, "block");
  assert.ok(v.reasons.some((x) => x.rule === rule), JSON.stringify(v));
  return v;
}

describe("moderation rules", () => {
  test("look-alike spellings of a blocked term are blocked", async () => {
    for (const message of ["FR33 F0LL0WERS here", "frée fôllowers", "ｆｒｅｅ ｆｏｌｌｏｗｅｒｓ", "frее fоllоwеrs"]) {
      await blockedBy({ fields: { song: "Africa", message } }, "blocked_term");
    }
  });

  test("a filled honeypot is blocked", async () => {
    await blockedBy({ fields: { song: "Africa", website: "http://spam.example" } }, "honeypot");
    const human = await submit({ fields: { song: "Africa", website: "" } });
    assert.equal(human.data.status, "queued", "an empty honeypot is fine and is not an unknown field");
  });

  test("a form sent faster than min_fill_secs is blocked; a patient one passes", async () => {
    await blockedBy({ fields: { song: "Africa" }, form_token: await formToken() }, "filled_too_fast", fanIp);
    const token = await formToken();
    await new Promise((r) => setTimeout(r, 2100));
    const r = await submit({ fields: { song: "Africa" }, form_token: token }, fanIp);
    assert.equal(r.data.status, "queued", r.text);
    // A token counts only from the address it was shown to (a bot cannot wait one out and
    // share it): sent at once from another address it is no token, so the fill time is not
    // judged, where from its own address it would have been blocked as too fast.
    const shared = await submit({ fields: { song: "Africa" }, form_token: await formToken() }, "203.0.113.41");
    assert.equal(shared.data.status, "queued", shared.text);
    assert.deepEqual((await verdict(shared.data.id)).reasons, []);
    const forged = await submit({ fields: { song: "Africa" }, form_token: `${Date.now() - 60_000}.${"0".repeat(64)}` });
    assert.equal(forged.data.status, "queued", "a forged token counts as none, and this app does not require one");
  });

  test("links to allowed domains do not count; shouting and repeated characters go to review", async () => {
    const links = await submit({ fields: { song: "Africa", message: "like https://www.youtube.com/watch?v=FTQbiNvZqaY or https://open.spotify.com/x and https://toto.example" } });
    assert.equal(links.data.status, "queued", "one counted link is within max_links 1");
    const shout = await submit({ fields: { song: "Africa", message: "PLEASE PLAY THIS RIGHT NOW" } });
    assert.equal(shout.data.status, "held_for_review");
    assert.deepEqual((await verdict(shout.data.id)).reasons.map((r) => r.rule), ["excessive_capitals"]);
    const repeat = await submit({ fields: { song: "Africaaaaaaaa" } });
    assert.equal(repeat.data.status, "held_for_review");
    const history = (await f.request("GET", `/apps/song-request/api/requests/${repeat.data.id}`, { key: f.owner.apiKey })).data.history;
    assert.deepEqual([history.at(-1).status, history.at(-1).reason], ["held_for_review", "repeated_characters"], "the verdict's reasons are stored with the event");
  });

  test("every request is triaged: intent, score and suggested priority, for the creator only", async () => {
    const r = await submit({ fields: { song: "Take On Me", message: "could you play it tonight for my birthday" } });
    const creator = (await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`, { key: f.owner.apiKey })).data;
    assert.equal(creator.triage.intent, "song_request");
    assert.equal(creator.triage.priority, "high");
    assert.ok(creator.triage.score > 0.5 && creator.triage.score <= 1);
    assert.equal((await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`)).data.triage, undefined, "fans do not see it");
    const spam = await submit({ fields: { song: "x", message: "cheap viewers for sale click here" } });
    const queue = (await f.request("GET", "/api/apps/song-request/requests", { key: f.owner.apiKey })).data.requests;
    assert.equal(queue.find((q) => q.id === spam.data.id).triage.intent, "spam");
  });
});
