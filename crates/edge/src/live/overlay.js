// Fanline's OBS overlay: what plays now and what comes next. Polls the app's overlay API every
// second (each answer is shared through the edge cache) and redraws only when it changed.
// Theme through the URL: color, accent, bg (default transparent), size (px), font, next (count),
// now_label, next_label. Colours are checked before use; nothing from the URL becomes markup.
(() => {
  const { app, token } = document.currentScript.dataset;
  const q = new URLSearchParams(location.search);
  const colour = (name, fallback) => {
    const v = q.get(name);
    return v && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\([0-9., %]+\))$/.test(v) ? v : fallback;
  };
  const size = Math.min(96, Math.max(12, Number(q.get("size")) || 28));
  const font = (q.get("font") ?? "").replace(/[^A-Za-z0-9 -]/g, "").slice(0, 40) || "system-ui, sans-serif";
  const label = (name, fallback) => (q.get(name) ?? fallback).slice(0, 40);
  const style = document.createElement("style");
  style.textContent = `
    .overlay { font-family: ${JSON.stringify(font)}, system-ui, sans-serif; padding: .6em .8em; border-radius: .4em; line-height: 1.25; text-shadow: 0 2px 4px #0008; }
    .label { display: block; font-size: .55em; letter-spacing: .12em; text-transform: uppercase; opacity: .8; }
    .title { font-weight: 700; } .by { opacity: .85; font-size: .7em; margin-left: .5em; }
    .upcoming { margin-top: .6em; } ol { margin: .3em 0 0; padding-left: 1.3em; font-size: .75em; } li { margin: .15em 0; }
    .empty, .problem { font-size: .7em; opacity: .85; }`;
  document.head.append(style);
  const root = Object.assign(document.createElement("div"), { className: "overlay" });
  Object.assign(root.style, { color: colour("color", "#ffffff"), background: colour("bg", "transparent"), fontSize: `${size}px` });
  document.body.append(root);
  const accent = colour("accent", "#9146ff");

  const el = (tag, className, text) => Object.assign(document.createElement(tag), { className, textContent: text ?? "" });
  const line = (entry, tag) => {
    const node = el(tag, "entry");
    node.append(el("span", "title", entry.title));
    if (entry.by) node.append(el("span", "by", `for ${entry.by}`));
    return node;
  };

  let last = "";
  function draw(data) {
    const shape = JSON.stringify([data.now, data.next]);
    if (shape === last) return;
    last = shape;
    const now = el("div", "now");
    const nowLabel = el("span", "label", label("now_label", "Now playing"));
    nowLabel.style.color = accent;
    now.append(nowLabel, data.now ? line(data.now, "div") : el("div", "empty", "Nothing yet: send a request!"));
    const next = el("div", "upcoming");
    if (data.next.length) {
      const nextLabel = el("span", "label", label("next_label", "Up next"));
      nextLabel.style.color = accent;
      const list = el("ol", "next");
      list.append(...data.next.map((e) => line(e, "li")));
      next.append(nextLabel, list);
    }
    root.replaceChildren(now, next);
  }

  const url = `/apps/${app}/api/overlay?token=${encodeURIComponent(token)}${q.has("next") ? `&next=${encodeURIComponent(q.get("next"))}` : ""}`;
  async function poll() {
    try {
      const r = await fetch(url, { cache: "no-store" });
      if (r.ok) draw(await r.json());
      else if (r.status === 403) {
        last = "";
        root.replaceChildren(el("div", "problem", `This overlay link is not valid any more: get the current one from GET /api/apps/${app}/overlay.`));
      }
    } catch {
      // Offline for a moment: keep showing the last state.
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
