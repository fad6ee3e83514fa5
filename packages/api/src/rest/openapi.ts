import { REST_PREFIX } from "./constants";
import { restProcedures } from "./procedures";

const errorStatuses: Record<string, string> = {
  "400": "Malformed JSON or invalid input; the message names the field",
  "401": "Missing, unknown or revoked API token",
  "403": "The token's user lacks the required role",
  "404": "No such resource",
  "409": "Conflicts with the current state (e.g. a name already taken)",
  "413": "Request body over 1 MiB",
  "429": "Too many requests",
};

let cached: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document, generated from the same zod schemas the procedures validate with. */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [procedurePath, procedure] of restProcedures().byPath) {
    const { route, meta, inputJsonSchema, outputJsonSchema } = procedure;
    const pathParams = new Set(route.params);
    const properties = inputJsonSchema?.properties ?? {};
    const required = new Set(inputJsonSchema?.required ?? []);
    const parameters: Record<string, unknown>[] = route.params.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: properties[name] ?? { type: "string" },
    }));
    let requestBody: Record<string, unknown> | undefined;
    const bodyProperties = Object.fromEntries(
      Object.entries(properties).filter(([name]) => !pathParams.has(name)),
    );
    if (meta.rawBody) {
      // Raw upload: the named field is the body itself; the other fields travel in the query string.
      for (const [name, schema] of Object.entries(bodyProperties)) {
        if (name === meta.rawBody.field) continue;
        parameters.push({ name, in: "query", required: required.has(name), schema });
      }
      requestBody = {
        required: true,
        content: { [meta.rawBody.contentType]: { schema: { type: "string", format: "binary" } } },
      };
    } else if (route.method === "GET" || route.method === "DELETE") {
      for (const [name, schema] of Object.entries(bodyProperties)) {
        parameters.push({ name, in: "query", required: required.has(name), schema });
      }
    } else if (inputJsonSchema) {
      const bodyRequired = [...required].filter((name) => !pathParams.has(name));
      requestBody = {
        required: true,
        content: {
          "application/json": {
            schema: {
              ...inputJsonSchema,
              properties: bodyProperties,
              ...(bodyRequired.length > 0 ? { required: bodyRequired } : { required: undefined }),
            },
          },
        },
      };
    }
    const responses: Record<string, unknown> = {
      [String(meta.successStatus ?? 200)]: {
        description: "Success",
        content: { "application/json": { schema: outputJsonSchema ?? {} } },
      },
    };
    for (const [status, description] of Object.entries(errorStatuses)) {
      responses[status] = {
        description,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    const fullPath = `${REST_PREFIX}${route.path}`;
    paths[fullPath] ??= {};
    paths[fullPath][route.method.toLowerCase()] = {
      operationId: procedurePath,
      summary: meta.summary,
      tags: [procedurePath.split(".")[0]],
      parameters,
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  cached = {
    openapi: "3.1.0",
    info: {
      title: "kernflow API",
      version: "1",
      description:
        "REST access to the kernflow console for automation. Every operation is the same procedure the console uses over tRPC.",
    },
    paths,
    components: {
      securitySchemes: {
        bearerToken: { type: "http", scheme: "bearer", description: "An API token (kf_...)" },
        chAuthEmail: { type: "apiKey", in: "header", name: "X-CH-Auth-Email" },
        chAuthToken: { type: "apiKey", in: "header", name: "X-CH-Auth-API-Token" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string", examples: ["BAD_REQUEST"] },
                message: { type: "string" },
              },
            },
          },
        },
      },
    },
    security: [{ bearerToken: [] }, { chAuthEmail: [], chAuthToken: [] }],
  };
  return cached;
}
