// prisma/schema.prisma describes the data model to the Prisma client; prisma/migrations/*.sql is
// what the database really gets. This test migrates an empty database and checks that the two
// agree: tables, columns, types, nullability, default presence, indexes and foreign keys. It reads
// the schema with @prisma/get-dmmf (wasm, offline) because Prisma's migration engine cannot run
// here (see PRISMA.md). The second half mutates the schema text and the database on purpose and
// checks that the comparison notices, so the check itself cannot silently rot.
import { readFileSync } from "node:fs";
import path from "node:path";
import { getDMMF, type GetDMMFError } from "@prisma/get-dmmf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlExecutor } from "../../src/infra/db/sql.js";
import { STORE_KINDS, openTestDb, type TestDb } from "../helpers/db.js";

const SCHEMA_PATH = path.resolve(import.meta.dirname, "../../prisma/schema.prisma");
const SCHEMA_TEXT = readFileSync(SCHEMA_PATH, "utf8");

/** Tables the database may have without a Prisma model, and why. */
const TABLES_WITHOUT_MODEL: Record<string, string> = {
  // The migration runner's bookkeeping, in Prisma's own format; Prisma never models it.
  _prisma_migrations: "migration history written by src/infra/db/migrate.ts",
};

/**
 * Indexes that exist only in the SQL (Prisma's schema language cannot express them, e.g. partial
 * or expression indexes), keyed by index name, with the reason. Everything else in pg_index must
 * correspond to an @id, @unique, @@unique or @@index in schema.prisma.
 */
const SQL_ONLY_INDEXES: Record<string, string> = {
  // transfers_pending_open_idx: "partial index (WHERE kind = 'pending'); Prisma cannot declare a predicate",
  sms_links_server_system_id_key: "partial unique (WHERE mode = 'server'): telcos binding to us are found by system_id; client links may share one",
  audit_log_subject_chain_seq_idx: "partial (WHERE subject IS NOT NULL): the ledger's batches, the most frequent appends, have no subject and are never looked up by it",
  audit_log_subject_occurred_at_chain_seq_idx: "partial (WHERE subject IS NOT NULL): as audit_log_subject_chain_seq_idx, for a bank's audit page by time",
  audit_log_apikey_occurred_at_chain_seq_idx: "partial (WHERE actor_id LIKE 'apikey:%'): a bank's audit page looks up only its keys' entries by actor, and every append writes the index",
  sms_mo_messages_pending_idx: "partial (WHERE pending_sms IS NOT NULL): the recovery sweep reads only messages still waiting to be answered",
};

/**
 * Partial unique indexes accepted in place of the schema's @unique/@@unique on the same columns,
 * keyed by index name, with the exact predicate. `WHERE col IS NOT NULL` enforces the same
 * uniqueness as a full index (PostgreSQL never treats NULLs as duplicates) while keeping NULL rows
 * out of the index. Caveat: Prisma's native upsert on those fields cannot use a partial index.
 */
const PARTIAL_UNIQUE_STAND_INS: Record<string, { predicate: string; why: string }> = {
  transfers_pending_id_key: {
    predicate: "(pending_id IS NOT NULL)",
    why: "single-phase transfers (nearly all) have no pending_id; transfers are written by raw SQL, never upserted by Prisma",
  },
};

/**
 * Foreign keys that exist only in the SQL, keyed by constraint name, with the reason. Every
 * relation in schema.prisma must have its foreign key in the database; the reverse needs an entry.
 */
const SQL_ONLY_FOREIGN_KEYS: Record<string, string> = {
  // The directory references the ledger's tables without Prisma relations: a relation would need a
  // back-relation field on the ledger's Institution and Account models (see schema.prisma).
  customers_institution_id_fkey: "directory → ledger institution, no Prisma relation on purpose",
  customers_wallet_account_id_fkey: "directory → ledger account, no Prisma relation on purpose",
  directory_settings_institution_id_fkey: "directory → ledger institution, no Prisma relation on purpose",
  payment_instruments_account_id_fkey: "directory → ledger account, no Prisma relation on purpose",
  sms_links_institution_id_fkey: "SMS link → ledger institution, no Prisma relation on purpose",
};

// Prisma default functions evaluated by the client, not by the database (so no column DEFAULT).
const CLIENT_SIDE_DEFAULTS = new Set(["uuid", "cuid", "nanoid", "ulid"]);

type Dmmf = Exclude<ReturnType<typeof getDMMF>, GetDMMFError>;
type DmmfModel = Dmmf["datamodel"]["models"][number];
type DmmfField = DmmfModel["fields"][number];

interface ColumnShape {
  type: string;
  nullable: boolean;
  hasDefault: boolean;
}

interface IndexShape {
  table: string;
  /** "primary" for the primary key, "unique" for any other unique index, else "normal". */
  kind: "primary" | "unique" | "normal";
  columns: string[];
  /** Set for database indexes only. */
  name?: string;
  /** WHERE clause of a partial index (database side), as pg_get_expr prints it. */
  predicate?: string | null;
  /** An expression index never matches a Prisma index. */
  hasExpressions?: boolean;
}

interface ForeignKeyShape {
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  name?: string;
}

interface SchemaShape {
  tables: Map<string, Map<string, ColumnShape>>;
  indexes: IndexShape[];
  foreignKeys: ForeignKeyShape[];
}

// ---------------------------------------------------------------------------------------------
// The schema side: DMMF → expected shape.

function parseSchema(text: string): Dmmf {
  const result = getDMMF({ datamodel: text });
  if ("reason" in result && "error" in result) {
    throw new Error(`schema.prisma does not parse: ${result.reason}: ${String(result.error)}`);
  }
  return result as Dmmf;
}

/** The information_schema type (with length or precision) a Prisma scalar becomes in PostgreSQL. */
function expectedType(field: DmmfField, enumDbNames: Map<string, string>): string {
  if (field.isList) return "ARRAY";
  if (field.kind === "enum") return `enum ${enumDbNames.get(field.type) ?? field.type}`;
  const [native, args = []] = field.nativeType ?? [undefined, []];
  const arg = (i: number): string | undefined => args[i];
  switch (field.type) {
    case "String":
      if (native === "Char") return `character(${arg(0) ?? 1})`;
      if (native === "VarChar") return arg(0) ? `character varying(${arg(0)})` : "character varying";
      if (native === "Uuid") return "uuid";
      if (native === undefined || native === "Text") return "text";
      break;
    case "Int":
      if (native === "SmallInt") return "smallint";
      if (native === undefined || native === "Integer") return "integer";
      break;
    case "BigInt":
      return "bigint";
    case "Boolean":
      return "boolean";
    case "DateTime":
      // Prisma's plain DateTime is TIMESTAMP(3); the native types default to precision 6.
      if (native === "Timestamptz") return `timestamp with time zone(${arg(0) ?? 6})`;
      if (native === "Timestamp") return `timestamp without time zone(${arg(0) ?? 6})`;
      if (native === undefined) return "timestamp without time zone(3)";
      if (native === "Date") return "date";
      break;
    case "Json":
      return native === "Json" ? "json" : "jsonb";
    case "Bytes":
      return "bytea";
    case "Float":
      return native === "Real" ? "real" : "double precision";
    case "Decimal":
      return `numeric(${arg(0) ?? 65},${arg(1) ?? 30})`;
  }
  // Fail loudly rather than guess: extend the mapping when the schema starts using a new type.
  return `unmapped Prisma type ${field.type}${native ? ` @db.${native}(${args.join(",")})` : ""}`;
}

function hasDbDefault(field: DmmfField): boolean {
  if (!field.hasDefaultValue || field.default === undefined) return false;
  const value = field.default as unknown;
  if (value !== null && typeof value === "object" && "name" in value) {
    return !CLIENT_SIDE_DEFAULTS.has(String((value as { name: unknown }).name));
  }
  return true;
}

function expectedShape(dmmf: Dmmf): SchemaShape {
  const { models, enums, indexes } = dmmf.datamodel;
  const enumDbNames = new Map(enums.map((e) => [e.name, e.dbName ?? e.name]));
  const tableOf = new Map(models.map((m) => [m.name, m.dbName ?? m.name]));
  const columnOf = (model: string, field: string): string => {
    const found = models.find((m) => m.name === model)?.fields.find((f) => f.name === field);
    return found?.dbName ?? field;
  };
  const tables = new Map<string, Map<string, ColumnShape>>();
  const foreignKeys: ForeignKeyShape[] = [];
  for (const model of models) {
    const columns = new Map<string, ColumnShape>();
    for (const field of model.fields) {
      if (field.kind === "object") {
        if (field.relationFromFields && field.relationFromFields.length > 0) {
          foreignKeys.push({
            table: tableOf.get(model.name)!,
            columns: field.relationFromFields.map((f) => columnOf(model.name, f)),
            refTable: tableOf.get(field.type) ?? field.type,
            refColumns: (field.relationToFields ?? []).map((f) => columnOf(field.type, f)),
          });
        }
        continue;
      }
      columns.set(field.dbName ?? field.name, {
        type: expectedType(field, enumDbNames),
        nullable: !field.isRequired,
        hasDefault: hasDbDefault(field),
      });
    }
    tables.set(tableOf.get(model.name)!, columns);
  }
  const expectedIndexes: IndexShape[] = [];
  for (const index of indexes) {
    if (index.type === "fulltext") continue; // MySQL/MongoDB only; not valid for PostgreSQL.
    expectedIndexes.push({
      table: tableOf.get(index.model)!,
      kind: index.type === "id" ? "primary" : index.type === "unique" ? "unique" : "normal",
      columns: index.fields.map((f) => columnOf(index.model, f.name)),
    });
  }
  return { tables, indexes: expectedIndexes, foreignKeys };
}

// ---------------------------------------------------------------------------------------------
// The database side: information_schema and pg_catalog → actual shape.

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: string;
  column_default: string | null;
  character_maximum_length: number | null;
  datetime_precision: number | null;
  numeric_precision: number | null;
  numeric_scale: number | null;
}

function actualType(row: ColumnRow): string {
  switch (row.data_type) {
    case "character":
    case "character varying":
      return row.character_maximum_length == null ? row.data_type : `${row.data_type}(${row.character_maximum_length})`;
    case "timestamp with time zone":
    case "timestamp without time zone":
      return `${row.data_type}(${row.datetime_precision})`;
    case "numeric":
      return `numeric(${row.numeric_precision},${row.numeric_scale})`;
    case "USER-DEFINED":
      return `enum ${row.udt_name}`;
    default:
      return row.data_type;
  }
}

// Column names of an index or constraint key in key order; expression columns (attnum 0) drop out.
const keyColumns = (keys: string, relation: string): string => `ARRAY(
  SELECT a.attname::text FROM unnest(${keys}) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = ${relation} AND a.attnum = k.attnum ORDER BY k.ord)`;

async function actualShape(sql: SqlExecutor): Promise<SchemaShape> {
  const tableRows = await sql.query<{ table_name: string }>(
    `SELECT table_name::text FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  );
  const columnRows = await sql.query<ColumnRow>(
    `SELECT table_name::text, column_name::text, data_type::text, udt_name::text, is_nullable::text,
            column_default::text, character_maximum_length::int, datetime_precision::int,
            numeric_precision::int, numeric_scale::int
     FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  const indexRows = await sql.query<{
    table_name: string;
    index_name: string;
    is_primary: boolean;
    is_unique: boolean;
    predicate: string | null;
    has_expressions: boolean;
    columns: string[];
  }>(
    `SELECT t.relname::text AS table_name, i.relname::text AS index_name, x.indisprimary AS is_primary,
            x.indisunique AS is_unique, pg_get_expr(x.indpred, x.indrelid) AS predicate,
            x.indexprs IS NOT NULL AS has_expressions,
            ${keyColumns("x.indkey::int2[]", "t.oid")} AS columns
     FROM pg_index x
     JOIN pg_class t ON t.oid = x.indrelid
     JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = current_schema()`,
  );
  const fkRows = await sql.query<{
    name: string;
    table_name: string;
    ref_table: string;
    columns: string[];
    ref_columns: string[];
  }>(
    `SELECT c.conname::text AS name, t.relname::text AS table_name, r.relname::text AS ref_table,
            ${keyColumns("c.conkey", "c.conrelid")} AS columns,
            ${keyColumns("c.confkey", "c.confrelid")} AS ref_columns
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_class r ON r.oid = c.confrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE c.contype = 'f' AND n.nspname = current_schema()`,
  );
  const tables = new Map<string, Map<string, ColumnShape>>(tableRows.rows.map((r) => [r.table_name, new Map()]));
  for (const row of columnRows.rows) {
    tables.get(row.table_name)?.set(row.column_name, {
      type: actualType(row),
      nullable: row.is_nullable === "YES",
      hasDefault: row.column_default !== null,
    });
  }
  return {
    tables,
    indexes: indexRows.rows.map((r) => ({
      table: r.table_name,
      name: r.index_name,
      kind: r.is_primary ? "primary" : r.is_unique ? "unique" : "normal",
      columns: r.columns,
      predicate: r.predicate,
      hasExpressions: r.has_expressions,
    })),
    foreignKeys: fkRows.rows.map((r) => ({
      table: r.table_name,
      name: r.name,
      columns: r.columns,
      refTable: r.ref_table,
      refColumns: r.ref_columns,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// The comparison: one line per difference, sorted, empty when schema and database agree.

const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const describeIndex = (i: IndexShape): string => `${i.kind} index on ${i.table}(${i.columns.join(", ")})`;
const describeFk = (f: ForeignKeyShape): string =>
  `foreign key ${f.table}(${f.columns.join(", ")}) → ${f.refTable}(${f.refColumns.join(", ")})`;

function compareTables(expected: SchemaShape, actual: SchemaShape, report: string[]): void {
  for (const [table, columns] of expected.tables) {
    const dbColumns = actual.tables.get(table);
    if (!dbColumns) {
      report.push(`table ${table}: in schema.prisma, missing in the database`);
      continue;
    }
    for (const [column, want] of columns) {
      const got = dbColumns.get(column);
      if (!got) {
        report.push(`column ${table}.${column}: in schema.prisma, missing in the database`);
        continue;
      }
      if (got.type !== want.type) report.push(`column ${table}.${column}: type ${want.type} in schema.prisma, ${got.type} in the database`);
      if (got.nullable !== want.nullable) {
        const say = (nullable: boolean): string => (nullable ? "nullable" : "NOT NULL");
        report.push(`column ${table}.${column}: ${say(want.nullable)} in schema.prisma, ${say(got.nullable)} in the database`);
      }
      if (got.hasDefault !== want.hasDefault) {
        const say = (has: boolean): string => (has ? "a database default" : "no database default");
        report.push(`column ${table}.${column}: ${say(want.hasDefault)} in schema.prisma, ${say(got.hasDefault)} in the database`);
      }
    }
    for (const column of dbColumns.keys()) {
      if (!columns.has(column)) report.push(`column ${table}.${column}: in the database, missing in schema.prisma`);
    }
  }
  for (const table of actual.tables.keys()) {
    if (!expected.tables.has(table) && !(table in TABLES_WITHOUT_MODEL)) {
      report.push(`table ${table}: in the database, no model in schema.prisma`);
    }
  }
}

/** A full index on plain columns, or a partial unique index listed (with its predicate) as a stand-in. */
function canStandFor(got: IndexShape, want: IndexShape): boolean {
  if (got.hasExpressions || got.table !== want.table || got.kind !== want.kind || !sameList(got.columns, want.columns)) return false;
  if (got.predicate == null) return true;
  return want.kind === "unique" && PARTIAL_UNIQUE_STAND_INS[got.name!]?.predicate === got.predicate;
}

function compareIndexes(expected: SchemaShape, actual: SchemaShape, report: string[]): void {
  const matched = new Set<IndexShape>();
  for (const want of expected.indexes) {
    const got = actual.indexes.find((i) => !matched.has(i) && canStandFor(i, want));
    if (got) matched.add(got);
    else report.push(`${describeIndex(want)}: in schema.prisma, missing in the database`);
  }
  for (const got of actual.indexes) {
    if (matched.has(got) || got.name! in SQL_ONLY_INDEXES || got.table in TABLES_WITHOUT_MODEL) continue;
    report.push(`${describeIndex(got)} "${got.name}": in the database, not in schema.prisma nor in SQL_ONLY_INDEXES`);
  }
}

function compareForeignKeys(expected: SchemaShape, actual: SchemaShape, report: string[]): void {
  const same = (a: ForeignKeyShape, b: ForeignKeyShape): boolean =>
    a.table === b.table && a.refTable === b.refTable && sameList(a.columns, b.columns) && sameList(a.refColumns, b.refColumns);
  for (const want of expected.foreignKeys) {
    if (!actual.foreignKeys.some((got) => same(got, want))) report.push(`${describeFk(want)}: in schema.prisma, missing in the database`);
  }
  for (const got of actual.foreignKeys) {
    if (expected.foreignKeys.some((want) => same(got, want))) continue;
    if (got.name! in SQL_ONLY_FOREIGN_KEYS || got.table in TABLES_WITHOUT_MODEL) continue;
    report.push(`${describeFk(got)} "${got.name}": in the database, no relation in schema.prisma nor in SQL_ONLY_FOREIGN_KEYS`);
  }
}

function compare(expected: SchemaShape, actual: SchemaShape): string[] {
  const report: string[] = [];
  compareTables(expected, actual, report);
  compareIndexes(expected, actual, report);
  compareForeignKeys(expected, actual, report);
  return report.sort();
}

async function driftReport(schemaText: string, sql: SqlExecutor): Promise<string[]> {
  return compare(expectedShape(parseSchema(schemaText)), await actualShape(sql));
}

// ---------------------------------------------------------------------------------------------
// Mutations used to prove the check fails on drift. They pick their targets from the DMMF, so they
// keep working as schema.prisma grows.

const ROLLBACK = new Error("rollback: this transaction only inspects a mutated database");

/** Runs fn against a database changed by `ddl`, inside a transaction that is always rolled back. */
async function withMutatedDb<T>(db: TestDb, ddl: string, fn: (sql: SqlExecutor) => Promise<T>): Promise<T> {
  let value: T | undefined;
  try {
    await db.db.transaction(async (tx) => {
      await tx.exec(ddl);
      value = await fn(tx);
      throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
  return value as T;
}

function editModel(schema: string, model: string, edit: (body: string) => string): string {
  const block = new RegExp(`(\\nmodel ${model}\\s*\\{)([\\s\\S]*?)(\\n\\})`);
  if (!block.test(schema)) throw new Error(`model ${model} not found in schema.prisma`);
  return schema.replace(block, (_all, open: string, body: string, close: string) => open + edit(body) + close);
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`mutation pattern ${pattern} matched nothing`);
  return text.replace(pattern, replacement);
}

const DMMF = parseSchema(SCHEMA_TEXT);
const MODELS = DMMF.datamodel.models;
const indexedFields = new Set(DMMF.datamodel.indexes.flatMap((i) => i.fields.map((f) => `${i.model}.${f.name}`)));
const relationFields = new Set(
  MODELS.flatMap((m) => m.fields.flatMap((f) => (f.relationFromFields ?? []).map((name) => `${m.name}.${name}`))),
);
/** A required, unindexed, non-relation String column without a native type: safe to mutate. */
const PLAIN = (() => {
  for (const model of MODELS) {
    const field = model.fields.find(
      (f) =>
        f.kind === "scalar" && f.type === "String" && f.isRequired && !f.isId && !f.nativeType && !f.isList &&
        !indexedFields.has(`${model.name}.${f.name}`) && !relationFields.has(`${model.name}.${f.name}`),
    );
    if (field) return { model, field, table: model.dbName ?? model.name, column: field.dbName ?? field.name };
  }
  throw new Error("schema.prisma has no plain required String field to mutate");
})();
const PLAIN_ID_FIELD = PLAIN.model.fields.find((f) => f.isId);
if (!PLAIN_ID_FIELD) throw new Error(`model ${PLAIN.model.name} has no single-field @id`);
const PLAIN_ID = PLAIN_ID_FIELD.dbName ?? PLAIN_ID_FIELD.name;
const PLAIN_ID_TYPE = expectedType(PLAIN_ID_FIELD, new Map()).replace(/\(.*$/, "");
/** A model nothing relates to and that relates to nothing: its block can be deleted. */
const STANDALONE = MODELS.find(
  (m) => !m.fields.some((f) => f.kind === "object") && !MODELS.some((o) => o.fields.some((f) => f.type === m.name)),
);
/** A plain @@index declared on the model (not on a field), to delete from the text. */
const NORMAL_INDEX = DMMF.datamodel.indexes.find((i) => i.type === "normal" && !i.isDefinedOnField);
const FIRST_FK = expectedShape(DMMF).foreignKeys[0];

const fieldLine = (name: string): RegExp => new RegExp(`^(\\s*${name}\\s+)String(?=[\\s?]|$)`, "m");

const SCHEMA_MUTATIONS: { name: string; mutate: (schema: string) => string; expect: RegExp }[] = [
  {
    name: "a model without a table",
    mutate: (s) => `${s}\nmodel DriftOnly {\n  id String @id @db.Uuid\n  @@map("drift_only")\n}\n`,
    expect: /^table drift_only: in schema\.prisma, missing in the database$/,
  },
  {
    name: "a field without a column",
    mutate: (s) => editModel(s, PLAIN.model.name, (body) => `\n  driftExtra Int? @map("drift_extra")${body}`),
    expect: new RegExp(`^column ${PLAIN.table}\\.drift_extra: in schema\\.prisma, missing in the database$`),
  },
  {
    name: "a changed nullability",
    mutate: (s) => editModel(s, PLAIN.model.name, (body) => replaceOnce(body, fieldLine(PLAIN.field.name), "$1String?")),
    expect: new RegExp(`^column ${PLAIN.table}\\.${PLAIN.column}: nullable in schema\\.prisma, NOT NULL in the database$`),
  },
  {
    name: "a changed type",
    mutate: (s) =>
      editModel(s, PLAIN.model.name, (body) => replaceOnce(body, fieldLine(PLAIN.field.name), "$1String @db.VarChar(7)")),
    expect: new RegExp(`^column ${PLAIN.table}\\.${PLAIN.column}: type character varying\\(7\\) in schema\\.prisma, text in the database$`),
  },
  {
    name: "an index missing in the database",
    mutate: (s) => editModel(s, PLAIN.model.name, (body) => `${body}\n  @@index([${PLAIN.field.name}])`),
    expect: new RegExp(`^normal index on ${PLAIN.table}\\(${PLAIN.column}\\): in schema\\.prisma, missing in the database$`),
  },
  {
    name: "a unique index missing in the database",
    mutate: (s) => editModel(s, PLAIN.model.name, (body) => `${body}\n  @@unique([${PLAIN.field.name}])`),
    expect: new RegExp(`^unique index on ${PLAIN.table}\\(${PLAIN.column}\\): in schema\\.prisma, missing in the database$`),
  },
];
if (STANDALONE) {
  SCHEMA_MUTATIONS.push({
    name: "a table without a model",
    mutate: (s) => replaceOnce(s, new RegExp(`\\nmodel ${STANDALONE.name}\\s*\\{[\\s\\S]*?\\n\\}\\n?`), "\n"),
    expect: new RegExp(`^table ${STANDALONE.dbName ?? STANDALONE.name}: in the database, no model in schema\\.prisma$`),
  });
}
if (NORMAL_INDEX) {
  const fields = NORMAL_INDEX.fields.map((f) => f.name);
  SCHEMA_MUTATIONS.push({
    name: "an index only in the database",
    mutate: (s) =>
      editModel(s, NORMAL_INDEX.model, (body) => replaceOnce(body, new RegExp(`\\n\\s*@@index\\(\\[\\s*${fields.join("\\s*,\\s*")}\\s*\\][^\\n]*`), "")),
    expect: /^normal index on .*: in the database, not in schema\.prisma nor in SQL_ONLY_INDEXES$/,
  });
}

// ---------------------------------------------------------------------------------------------

describe.each(STORE_KINDS)("schema.prisma and the migrated database (%s)", (kind) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb(kind, { maxConnections: 2 });
  });
  afterAll(async () => {
    await db?.cleanup();
  });

  it("agree on tables, columns, types, nullability, defaults, indexes and foreign keys", async () => {
    expect(await driftReport(SCHEMA_TEXT, db.db)).toEqual([]);
  });

  it("maps every column type of the schema (no unmapped Prisma types)", () => {
    const types = [...expectedShape(DMMF).tables.values()].flatMap((columns) => [...columns.values()].map((c) => c.type));
    expect(types.filter((t) => t.startsWith("unmapped"))).toEqual([]);
  });

  describe("reports drift", () => {
    it.each(SCHEMA_MUTATIONS)("in schema.prisma: $name", async ({ mutate, expect: pattern }) => {
      const mutated = mutate(SCHEMA_TEXT);
      expect(mutated).not.toBe(SCHEMA_TEXT);
      const report = await driftReport(mutated, db.db);
      expect(report).toContainEqual(expect.stringMatching(pattern));
    });

    it("in the database: an extra table", async () => {
      const report = await withMutatedDb(db, `CREATE TABLE "drift_extra_table" (id integer)`, (sql) => driftReport(SCHEMA_TEXT, sql));
      expect(report).toContainEqual("table drift_extra_table: in the database, no model in schema.prisma");
    });

    it("in the database: a foreign key without a relation", async () => {
      const ddl = `CREATE TABLE "drift_child" (id integer, ref ${PLAIN_ID_TYPE} REFERENCES "${PLAIN.table}" ("${PLAIN_ID}"))`;
      const report = await withMutatedDb(db, ddl, (sql) => driftReport(SCHEMA_TEXT, sql));
      expect(report).toContainEqual(expect.stringMatching(/^foreign key drift_child\(ref\) → .*: in the database, no relation in schema\.prisma/));
    });

    it.runIf(Object.keys(PARTIAL_UNIQUE_STAND_INS).length > 0)("in the database: a stand-in with another predicate", async () => {
      const actual = await actualShape(db.db);
      const standIn = actual.indexes.find((i) => i.name! in PARTIAL_UNIQUE_STAND_INS);
      expect(standIn, "no index of PARTIAL_UNIQUE_STAND_INS exists in the database").toBeDefined();
      const { name, table, columns } = standIn!;
      const cols = columns.map((c) => `"${c}"`).join(", ");
      const ddl = `DROP INDEX "${name}"; CREATE UNIQUE INDEX "${name}" ON "${table}" (${cols}) WHERE ${cols.split(", ")[0]} IS NULL`;
      const report = await withMutatedDb(db, ddl, (sql) => driftReport(SCHEMA_TEXT, sql));
      expect(report).toContainEqual(`unique index on ${table}(${columns.join(", ")}): in schema.prisma, missing in the database`);
    });

    it("in the database: a partial index that is not allow-listed", async () => {
      const ddl = `CREATE INDEX "drift_partial_idx" ON "${PLAIN.table}" ("${PLAIN.column}") WHERE "${PLAIN.column}" <> ''`;
      const report = await withMutatedDb(db, ddl, (sql) => driftReport(SCHEMA_TEXT, sql));
      expect(report).toContainEqual(expect.stringMatching(/"drift_partial_idx": in the database, not in schema\.prisma/));
    });

    it("in the database: a dropped index, column default and NOT NULL", async () => {
      const expected = expectedShape(DMMF);
      const actual = await actualShape(db.db);
      const index = actual.indexes.find((got) =>
        expected.indexes.some((want) => want.kind === "normal" && got.kind === "normal" && want.table === got.table && sameList(want.columns, got.columns)),
      );
      expect(index, "schema.prisma declares no plain @@index to drop").toBeDefined();
      const ddl = [
        `DROP INDEX "${index!.name}"`,
        `ALTER TABLE "${PLAIN.table}" ALTER COLUMN "${PLAIN.column}" DROP NOT NULL`,
        `ALTER TABLE "${PLAIN.table}" ALTER COLUMN "${PLAIN.column}" SET DEFAULT 'x'`,
      ].join(";\n");
      const report = await withMutatedDb(db, ddl, (sql) => driftReport(SCHEMA_TEXT, sql));
      expect(report).toContainEqual(`${describeIndex({ ...index!, name: undefined })}: in schema.prisma, missing in the database`);
      expect(report).toContainEqual(`column ${PLAIN.table}.${PLAIN.column}: NOT NULL in schema.prisma, nullable in the database`);
      if (!expected.tables.get(PLAIN.table)!.get(PLAIN.column)!.hasDefault) {
        expect(report).toContainEqual(
          `column ${PLAIN.table}.${PLAIN.column}: no database default in schema.prisma, a database default in the database`,
        );
      }
    });

    it.runIf(FIRST_FK !== undefined)("in the database: a dropped foreign key", async () => {
      const actual = await actualShape(db.db);
      const fk = actual.foreignKeys.find((f) => f.table === FIRST_FK!.table && sameList(f.columns, FIRST_FK!.columns))!;
      const ddl = `ALTER TABLE "${fk.table}" DROP CONSTRAINT "${fk.name}"`;
      const report = await withMutatedDb(db, ddl, (sql) => driftReport(SCHEMA_TEXT, sql));
      expect(report).toContainEqual(`${describeFk(FIRST_FK!)}: in schema.prisma, missing in the database`);
    });
  });
});
