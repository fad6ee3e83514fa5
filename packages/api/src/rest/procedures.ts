import type { AnyProcedure } from "@trpc/server";
import { z } from "zod";
import { appRouter } from "../root";
import type { Meta } from "../trpc";
import { type CompiledRoute, compileRoutes } from "./routes";

export interface RestProcedure {
  route: CompiledRoute;
  meta: NonNullable<Meta["rest"]>;
  input: z.ZodType | null;
  output: z.ZodType | null;
  inputJsonSchema: JsonSchemaObject | null;
  outputJsonSchema: Record<string, unknown> | null;
}

export interface JsonSchemaObject {
  type?: string | string[];
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
  [key: string]: unknown;
}

// Dates travel as RFC 3339 strings in JSON; everything else zod can describe directly.
function toJsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, {
    io,
    unrepresentable: "any",
    override: (ctx) => {
      if (ctx.zodSchema._zod.def.type === "date") {
        ctx.jsonSchema.type = "string";
        ctx.jsonSchema.format = "date-time";
      }
    },
  });
  return json;
}

function isZodType(value: unknown): value is z.ZodType {
  return value instanceof z.ZodType;
}

/** Every procedure that declares `meta.rest`, with its route and schemas; computed once. */
function collectRestProcedures(): Map<string, RestProcedure> {
  // At run time tRPC keeps a flat record keyed by dotted path ("plans.list"), whatever its static type says.
  const procedures = appRouter._def.procedures as unknown as Record<string, AnyProcedure>;
  const entries = Object.entries(procedures).flatMap(([procedurePath, procedure]) => {
    const def = procedure._def as { meta?: Meta; inputs: unknown[]; output?: unknown };
    const rest = def.meta?.rest;
    return rest ? [{ procedurePath, rest, def }] : [];
  });
  const routes = compileRoutes(
    entries.map((e) => ({ method: e.rest.method, path: e.rest.path, procedurePath: e.procedurePath })),
  );
  const out = new Map<string, RestProcedure>();
  for (const [i, { procedurePath, rest, def }] of entries.entries()) {
    const input = isZodType(def.inputs[0]) ? def.inputs[0] : null;
    const output = isZodType(def.output) ? def.output : null;
    const route = routes[i];
    if (!route) continue;
    out.set(procedurePath, {
      route,
      meta: rest,
      input,
      output,
      inputJsonSchema: input ? (toJsonSchema(input, "input") as JsonSchemaObject) : null,
      outputJsonSchema: output ? toJsonSchema(output, "output") : null,
    });
  }
  return out;
}

let cached: { byPath: Map<string, RestProcedure>; routes: CompiledRoute[] } | undefined;

export function restProcedures(): { byPath: Map<string, RestProcedure>; routes: CompiledRoute[] } {
  if (!cached) {
    const byPath = collectRestProcedures();
    cached = { byPath, routes: [...byPath.values()].map((p) => p.route) };
  }
  return cached;
}
