// Compares a migrated database with prisma/schema.prisma as Prisma itself reads it (the DMMF from Prisma's
// schema wasm), so the hand-written SQL migrations and the schema that types the client cannot drift.
// Both sides are reduced to the same one-line facts; the difference of the two sets is the drift.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { z } from "zod";

const fieldSchema = z.object({
  name: z.string(),
  dbName: z.string().nullish(),
  kind: z.enum(["scalar", "object", "enum", "unsupported"]),
  isList: z.boolean(),
  isRequired: z.boolean(),
  isUpdatedAt: z.boolean().optional(),
  hasDefaultValue: z.boolean(),
  default: z.unknown().optional(),
  type: z.string(),
  nativeType: z.tuple([z.string(), z.array(z.string())]).nullish(),
  relationFromFields: z.array(z.string()).optional(),
  relationToFields: z.array(z.string()).optional(),
  relationOnDelete: z.string().optional(),
  relationOnUpdate: z.string().optional(),
});
const dmmfSchema = z.object({
  datamodel: z.object({
    enums: z.array(
      z.object({
        name: z.string(),
        dbName: z.string().nullish(),
        values: z.array(z.object({ name: z.string(), dbName: z.string().nullish() })),
      }),
    ),
    models: z.array(
      z.object({ name: z.string(), dbName: z.string().nullish(), fields: z.array(fieldSchema) }),
    ),
    indexes: z.array(
      z.object({
        model: z.string(),
        type: z.enum(["id", "unique", "normal", "fulltext"]),
        dbName: z.string().nullish(),
        fields: z.array(z.object({ name: z.string() })),
      }),
    ),
  }),
});
type Datamodel = z.infer<typeof dmmfSchema>["datamodel"];
type Field = z.infer<typeof fieldSchema>;

export function loadDatamodel(schemaPath: string): Datamodel {
  const wasm = createRequire(import.meta.url)(
    "@prisma/prisma-schema-wasm",
  ) as typeof import("@prisma/prisma-schema-wasm");
  const schema = readFileSync(schemaPath, "utf8");
  const raw = wasm.get_dmmf(JSON.stringify({ prismaSchema: [[path.basename(schemaPath), schema]] }));
  return dmmfSchema.parse(JSON.parse(raw)).datamodel;
}

// Defaults Prisma fills in on the client side: the database column has none.
const CLIENT_SIDE_DEFAULTS = new Set(["uuid", "cuid", "nanoid", "ulid"]);

function columnType(field: Field): string {
  if (field.kind === "enum") return `enum ${field.type}`;
  const native = field.nativeType;
  let base: string;
  switch (field.type) {
    case "String":
      base = native?.[0] === "Uuid" ? "uuid" : "text";
      break;
    case "Int":
      base = "integer";
      break;
    case "BigInt":
      base = "bigint";
      break;
    case "Boolean":
      base = "boolean";
      break;
    case "Float":
      base = "double precision";
      break;
    case "Json":
      base = "jsonb";
      break;
    case "Bytes":
      base = "bytea";
      break;
    case "DateTime":
      base =
        native?.[0] === "Timestamptz"
          ? `timestamp with time zone(${native[1][0] ?? "6"})`
          : `timestamp without time zone(${native?.[1][0] ?? "3"})`;
      break;
    default:
      throw new Error(
        `schema-diff does not know how Prisma maps ${field.type} (field ${field.name}); extend it`,
      );
  }
  return field.isList ? `${base}[]` : base;
}

function expectedDefault(field: Field): string {
  if (!field.hasDefaultValue || field.isUpdatedAt) return "none";
  const d = field.default;
  if (Array.isArray(d)) return `[${d.join(",")}]`;
  if (d && typeof d === "object" && "name" in d) {
    const name = String(d.name);
    if (CLIENT_SIDE_DEFAULTS.has(name)) return "none";
    return name;
  }
  return `'${String(d)}'`;
}

function actualDefault(columnDefault: string | null): string {
  if (columnDefault === null) return "none";
  if (/^CURRENT_TIMESTAMP$/i.test(columnDefault) || /^now\(\)$/i.test(columnDefault)) return "now";
  if (/^nextval\(/i.test(columnDefault)) return "autoincrement";
  const array = /^ARRAY\[(.*)\]::[\w ]+\[\]$/i.exec(columnDefault);
  if (array) return `[${(array[1] ?? "").replace(/'|::[\w" ]+/g, "")}]`;
  let text = columnDefault;
  for (let cast = /::("[^"]+"|[\w ]+)$/; cast.test(text); ) text = text.replace(cast, "");
  return `'${text.replace(/^'(.*)'$/s, "$1").replace(/''/g, "'")}'`;
}

const ON_ACTION: Record<string, string> = {
  a: "NoAction",
  r: "Restrict",
  c: "Cascade",
  n: "SetNull",
  d: "SetDefault",
};

/** One line per fact the schema states about the database. */
export function expectedFacts(dm: Datamodel): Set<string> {
  const facts = new Set<string>();
  for (const e of dm.enums) {
    facts.add(`enum ${e.dbName ?? e.name} (${e.values.map((v) => v.dbName ?? v.name).join(", ")})`);
  }
  const tableOf = new Map(dm.models.map((m) => [m.name, m.dbName ?? m.name]));
  for (const model of dm.models) {
    const table = model.dbName ?? model.name;
    const column = new Map(model.fields.map((f) => [f.name, f.dbName ?? f.name]));
    facts.add(`table ${table}`);
    for (const f of model.fields) {
      if (f.kind === "object") {
        if (!f.relationFromFields?.length) continue;
        const cols = f.relationFromFields.map((n) => column.get(n) ?? n);
        const target = dm.models.find((m) => m.name === f.type);
        const targetColumn = new Map(target?.fields.map((t) => [t.name, t.dbName ?? t.name]));
        const refs = (f.relationToFields ?? []).map((n) => targetColumn.get(n) ?? n);
        // Prisma's defaults when the schema names no action: SetNull for optional, Restrict for required.
        const onDelete = f.relationOnDelete ?? (f.isRequired ? "Restrict" : "SetNull");
        const onUpdate = f.relationOnUpdate ?? "Cascade";
        facts.add(
          `foreign key ${table}_${cols.join("_")}_fkey ${table}(${cols.join(", ")}) -> ` +
            `${tableOf.get(f.type)}(${refs.join(", ")}) on delete ${onDelete} on update ${onUpdate}`,
        );
        continue;
      }
      // Prisma leaves scalar lists nullable in PostgreSQL even when the field is required.
      const nullable = !f.isRequired || f.isList;
      facts.add(
        `column ${table}.${f.dbName ?? f.name} ${columnType(f)} ${nullable ? "null" : "not null"} default ${expectedDefault(f)}`,
      );
    }
  }
  for (const index of dm.indexes) {
    const table = tableOf.get(index.model) ?? index.model;
    const model = dm.models.find((m) => m.name === index.model);
    const cols = index.fields.map((f) => model?.fields.find((x) => x.name === f.name)?.dbName ?? f.name);
    const suffix = { id: "pkey", unique: "key", normal: "idx", fulltext: "idx" }[index.type];
    const name =
      index.dbName ?? (index.type === "id" ? `${table}_pkey` : `${table}_${cols.join("_")}_${suffix}`);
    const kind = { id: "primary key", unique: "unique index", normal: "index", fulltext: "index" }[
      index.type
    ];
    facts.add(`${kind} ${name} on ${table}(${cols.join(", ")})`);
  }
  return facts;
}

/** The same kind of lines, read from the database's catalogs (public schema). */
export async function actualFacts(databaseUrl: string, ignoreTables: string[] = []): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const facts = new Set<string>();
    const ignored = new Set(ignoreTables);

    const enums = await client.query<{ name: string; values: string[] }>(`
      SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' GROUP BY t.typname`);
    for (const e of enums.rows) facts.add(`enum ${e.name} (${e.values.join(", ")})`);

    const tables = await client.query<{ table_name: string }>(`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
    for (const t of tables.rows) if (!ignored.has(t.table_name)) facts.add(`table ${t.table_name}`);

    const columns = await client.query<{
      table_name: string;
      column_name: string;
      data_type: string;
      udt_name: string;
      is_nullable: "YES" | "NO";
      column_default: string | null;
      datetime_precision: number | null;
    }>(`
      SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, datetime_precision
      FROM information_schema.columns WHERE table_schema = 'public'`);
    const enumNames = new Set(enums.rows.map((e) => e.name));
    for (const c of columns.rows) {
      if (ignored.has(c.table_name)) continue;
      facts.add(
        `column ${c.table_name}.${c.column_name} ${pgType(c, enumNames)} ${c.is_nullable === "YES" ? "null" : "not null"} default ${actualDefault(c.column_default)}`,
      );
    }

    const indexes = await client.query<{
      table: string;
      name: string;
      unique: boolean;
      primary: boolean;
      columns: string[];
    }>(`
      SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
        array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public'`);
    for (const ix of indexes.rows) {
      if (ignored.has(ix.table)) continue;
      const kind = ix.primary ? "primary key" : ix.unique ? "unique index" : "index";
      facts.add(`${kind} ${ix.name} on ${ix.table}(${ix.columns.join(", ")})`);
    }

    const keys = await client.query<{
      name: string;
      table: string;
      columns: string[];
      target: string;
      target_columns: string[];
      on_delete: string;
      on_update: string;
    }>(`
      SELECT c.conname AS name, t.relname AS table, f.relname AS target,
        array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns,
        array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS target_columns,
        c.confdeltype AS on_delete, c.confupdtype AS on_update
      FROM pg_constraint c
      JOIN pg_class t ON t.oid = c.conrelid
      JOIN pg_class f ON f.oid = c.confrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE c.contype = 'f' AND n.nspname = 'public'`);
    for (const k of keys.rows) {
      if (ignored.has(k.table)) continue;
      facts.add(
        `foreign key ${k.name} ${k.table}(${k.columns.join(", ")}) -> ${k.target}(${k.target_columns.join(", ")}) ` +
          `on delete ${ON_ACTION[k.on_delete]} on update ${ON_ACTION[k.on_update]}`,
      );
    }
    return facts;
  } finally {
    await client.end();
  }
}

function pgType(
  c: { data_type: string; udt_name: string; datetime_precision: number | null },
  enumNames: Set<string>,
): string {
  const isArray = c.data_type === "ARRAY";
  const udt = isArray ? c.udt_name.replace(/^_/, "") : c.udt_name;
  const names: Record<string, string> = {
    uuid: "uuid",
    text: "text",
    int4: "integer",
    int8: "bigint",
    bool: "boolean",
    float8: "double precision",
    jsonb: "jsonb",
    json: "json",
    bytea: "bytea",
    varchar: "character varying",
    timestamptz: `timestamp with time zone(${c.datetime_precision})`,
    timestamp: `timestamp without time zone(${c.datetime_precision})`,
  };
  const base = enumNames.has(udt) ? `enum ${udt}` : (names[udt] ?? udt);
  return isArray ? `${base}[]` : base;
}

export interface SchemaDrift {
  /** Stated by the Prisma schema, absent from the database. */
  missing: string[];
  /** Present in the database, not stated by the Prisma schema. */
  unexpected: string[];
}

export async function schemaDrift(
  schemaPath: string,
  databaseUrl: string,
  ignoreTables: string[],
): Promise<SchemaDrift> {
  const expected = expectedFacts(loadDatamodel(schemaPath));
  const actual = await actualFacts(databaseUrl, ignoreTables);
  return {
    missing: [...expected].filter((f) => !actual.has(f)).sort(),
    unexpected: [...actual].filter((f) => !expected.has(f)).sort(),
  };
}
