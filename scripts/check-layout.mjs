// Checks the module graph of each Rust crate: no import cycles between modules (files), and
// none between the top-level areas either (intake, money, trust, delivery, db, platform, ...).
// An edge is any `use` or inline `crate::`/`super::` path from one file's module to another's;
// `mod` declarations are structure, not edges. Prints each crate's area graph; exits non-zero
// on a cycle. Run by the test command.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CRATES = { "fanline-core": "crates/core/src", "fanline-edge": "crates/edge/src", "fanline-hub": "src" };

/** Every .rs file under `dir` (bins excluded: they are separate crates) with its module path. */
function modules(dir) {
  const out = new Map();
  const walk = (d, prefix) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "bin") walk(full, [...prefix, entry.name]);
      } else if (entry.name.endsWith(".rs")) {
        const stem = entry.name.slice(0, -3);
        const mod = stem === "mod" || (stem === "lib" && prefix.length === 0) ? prefix : [...prefix, stem];
        out.set(mod.join("::"), full);
      }
    }
  };
  walk(dir, []);
  return out;
}

/** Expands `a::{b, c::{d, e}}` into full paths. */
function expand(tree) {
  tree = tree.replace(/\s+/g, "");
  const open = tree.indexOf("{");
  if (open < 0) return [tree.replace(/::\*$/, "").replace(/::self$/, "").replace(/\bas\w+$/, "")];
  const prefix = tree.slice(0, open);
  const inner = tree.slice(open + 1, tree.lastIndexOf("}"));
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === "{") depth++;
    else if (inner[i] === "}") depth--;
    else if (inner[i] === "," && depth === 0) {
      parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(inner.slice(start));
  return parts.filter(Boolean).flatMap((p) => expand(prefix + p));
}

function references(source, self) {
  const code = source.replace(/\/\/[^\n]*/g, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // Test modules may look anywhere; only the shipped code's graph counts.
  const shipped = code.split(/#\[cfg\(test\)\]/)[0];
  const paths = [];
  for (const m of shipped.matchAll(/\buse\s+([^;]+);/g)) paths.push(...expand(m[1]));
  for (const m of shipped.matchAll(/\b(crate|super|self)((?:::\w+)+)/g)) paths.push(m[1] + m[2]);
  return paths
    .filter((p) => /^(crate|super|self)(::|$)/.test(p))
    .map((p) => {
      const segs = p.split("::").filter((s) => s && !s.includes(" "));
      let base = [];
      if (segs[0] === "crate") segs.shift();
      else {
        base = [...self];
        while (segs[0] === "super" || segs[0] === "self") if (segs.shift() === "super") base.pop();
      }
      return [...base, ...segs];
    });
}

function cycles(graph) {
  // Tarjan's strongly connected components; any component of two or more is a cycle.
  let index = 0;
  const stack = [];
  const info = new Map();
  const found = [];
  const visit = (v) => {
    info.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).on) info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
    }
    if (info.get(v).low === info.get(v).index) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).on = false;
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) found.push(comp);
    }
  };
  for (const v of graph.keys()) if (!info.has(v)) visit(v);
  return found;
}

let failed = false;
for (const [crate, dir] of Object.entries(CRATES)) {
  const mods = modules(path.join(ROOT, dir));
  const files = new Map();
  const areas = new Map();
  for (const [mod, file] of mods) {
    const self = mod ? mod.split("::") : [];
    const targets = new Set();
    for (const ref of references(fs.readFileSync(file, "utf8"), self)) {
      // The deepest file module the path names.
      for (let n = ref.length; n >= 0; n--) {
        const candidate = ref.slice(0, n).join("::");
        if (mods.has(candidate)) {
          // A parent naming its own child (a re-export) or a file naming itself is not an import.
          if (candidate !== mod && !(candidate.startsWith(mod + "::") || (mod === "" && candidate))) targets.add(candidate);
          break;
        }
      }
    }
    files.set(mod || "(root)", [...targets].map((t) => t || "(root)"));
    const area = self[0] ?? "(root)";
    for (const t of targets) {
      const to = t.split("::")[0] || "(root)";
      if (to !== area) areas.set(area, new Set([...(areas.get(area) ?? []), to]));
    }
    if (!areas.has(area)) areas.set(area, new Set());
  }
  const fileCycles = cycles(new Map([...files].map(([k, v]) => [k, v])));
  const areaCycles = cycles(new Map([...areas].map(([k, v]) => [k, [...v]])));
  console.log(`${crate}: ${mods.size} modules`);
  for (const [area, to] of [...areas].sort()) console.log(`  ${area} -> ${[...to].sort().join(", ") || "(nothing)"}`);
  for (const c of fileCycles) {
    failed = true;
    console.log(`  CYCLE between modules: ${c.join(" <-> ")}`);
  }
  for (const c of areaCycles) {
    failed = true;
    console.log(`  CYCLE between areas: ${c.join(" <-> ")}`);
  }
}
process.exit(failed ? 1 : 0);
