// The embed script every fan's page loads, minified: crates/edge/src/app/embed.js is the source
// and embed.min.js, which the app Workers serve, is generated from it with the pinned esbuild.
// `node scripts/minify-embed.mjs --write` regenerates it; without --write it fails when the
// committed copy is out of date (the test command runs that check).
import { transformSync } from "esbuild";
import fs from "node:fs";
import path from "node:path";

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), "../crates/edge/src/app");
const source = fs.readFileSync(path.join(dir, "embed.js"), "utf8");
const header = "// Generated from embed.js by scripts/minify-embed.mjs --write; edit embed.js instead.\n";
// The manifest is put in place of __FANLINE_MANIFEST__ when served, so it must survive as is.
const { code } = transformSync(source, { minify: true, target: "es2020", charset: "utf8" });
if (!code.includes("__FANLINE_MANIFEST__")) throw new Error("the minified embed script lost its __FANLINE_MANIFEST__ placeholder");
const generated = header + code;
const target = path.join(dir, "embed.min.js");
if (process.argv.includes("--write")) {
  fs.writeFileSync(target, generated);
} else if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== generated) {
  console.error("crates/edge/src/app/embed.min.js is out of date: run node scripts/minify-embed.mjs --write");
  process.exit(1);
}
