// schema.sql is the snapshot of migrations/: a fresh local D1 migrated by wrangler's own runner
// (`wrangler d1 migrations apply`) has exactly the tables, columns, indexes and foreign keys of
// a fresh D1 made from schema.sql. A column added to one and not the other fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyMigrations, localHubConfig, wrangler, ROOT } from "../scripts/stack.mjs";

const SHAPE = `
  SELECT m.type, m.name, m.tbl_name, 'column' AS part, p.cid AS n, p.name AS what, p.type AS detail, p."notnull" AS flag, p.dflt_value AS extra, p.pk AS key
    FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'
  UNION ALL
  SELECT m.type, m.name, m.tbl_name, 'index column', i.seqno, i.name, i.coll, i."desc", NULL, i.key
    FROM sqlite_master m JOIN pragma_index_xinfo(m.name) i WHERE m.type = 'index'
  UNION ALL
  SELECT m.type, m.name, m.tbl_name, 'foreign key', f.seq, f."from", f."table", NULL, f."to", f.id
    FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'
  UNION ALL
  SELECT m.type, m.name, m.tbl_name, 'object', 0, NULL, NULL, NULL, NULL, NULL FROM sqlite_master m`;

function shape(dir, cfg) {
  const out = wrangler(["d1", "execute", "DB", "--local", "--persist-to", dir, "--json", "--command", SHAPE, "-c", cfg]);
  const rows = JSON.parse(out)[0].results;
  // wrangler's and D1's own bookkeeping is not part of Fanline's schema.
  const ours = rows.filter((r) => !/^(sqlite_|_cf_|d1_migrations)/.test(r.name));
  return ours.map((r) => JSON.stringify(r)).sort();
}

test("applying every migration to an empty D1 gives exactly schema.sql", () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-schema-"));
  try {
    const migrated = path.join(base, "migrated");
    const snapshot = path.join(base, "snapshot");
    const cfg = localHubConfig(path.join(base, "config"));
    const applied = applyMigrations(migrated, cfg);
    for (const file of fs.readdirSync(path.join(ROOT, "migrations")).filter((f) => f.endsWith(".sql"))) assert.match(applied, new RegExp(file.replace(".", "\\.")), `${file} applied`);
    wrangler(["d1", "execute", "DB", "--local", "--persist-to", snapshot, "--file", path.join(ROOT, "schema.sql"), "-c", cfg]);
    const fromMigrations = shape(migrated, cfg);
    const fromSnapshot = shape(snapshot, cfg);
    assert.ok(fromSnapshot.length > 100, "the shape query sees the schema");
    assert.deepEqual(fromMigrations, fromSnapshot);
    // Applying again finds nothing left to apply.
    assert.match(applyMigrations(migrated, cfg), /No migrations to apply/);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
