import { z } from "zod";

/**
 * What llama.cpp's json-schema-to-grammar turns into grammar rules, so that
 * every answer generated under it also validates. Keywords it skips
 * silently (it accepts looser text than the schema: `multipleOf`, `not`,
 * `uniqueItems`, a number's bounds…) or fails on (remote `$ref`s) are
 * refused before any generation, naming the keyword and where it is.
 */
const ENFORCED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "$ref",
  "$defs",
  "definitions",
  "pattern",
  "minLength",
  "maxLength",
  "format",
]);
/** Keywords that say nothing about what is valid. */
const ANNOTATIONS = new Set(["$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"]);
const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);
const INTEGER_BOUNDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];
/** String formats the converter has rules for. */
const FORMATS = new Set(["date", "time", "date-time", "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5"]);

/** The schema features the grammar cannot enforce, each as "keyword at path"; empty when all are supported. */
export function unsupportedSchemaFeatures(schema: unknown, at = "", { refs = true }: { refs?: boolean } = {}): string[] {
  const out: string[] = [];
  const where = (p: string) => p || "the top level";
  const walk = (s: unknown, p: string) => {
    if (typeof s === "boolean") return;
    if (!s || typeof s !== "object" || Array.isArray(s)) {
      out.push(`a schema that is not an object at ${where(p)}`);
      return;
    }
    const o = s as Record<string, unknown>;
    const types = Array.isArray(o.type) ? o.type : o.type === undefined ? [] : [o.type];
    for (const [k, v] of Object.entries(o)) {
      const kp = `${p}/${k}`;
      if (ANNOTATIONS.has(k)) continue;
      if (INTEGER_BOUNDS.includes(k)) {
        if (!(types.length === 1 && types[0] === "integer")) out.push(`${k} on a non-integer at ${where(p)} (only integer bounds are enforced)`);
        continue;
      }
      if (!ENFORCED.has(k)) {
        out.push(`${k} at ${where(p)}`);
        continue;
      }
      if (k === "type") for (const t of types) if (typeof t !== "string" || !TYPES.has(t)) out.push(`type ${JSON.stringify(t)} at ${where(p)}`);
      if (k === "properties" || k === "$defs" || k === "definitions") {
        if (v && typeof v === "object") for (const [name, sub] of Object.entries(v)) walk(sub, `${kp}/${name}`);
      }
      if (k === "additionalProperties" && typeof v === "object") walk(v, kp);
      if (k === "items" || k === "prefixItems" || k === "anyOf" || k === "oneOf") {
        if (Array.isArray(v)) v.forEach((sub, i) => walk(sub, `${kp}/${i}`));
        else walk(v, kp);
      }
      if (k === "$ref") {
        if (!refs) out.push(`$ref at ${where(p)} (a tool's parameters must be self-contained)`);
        else if (typeof v !== "string" || !v.startsWith("#/")) out.push(`$ref ${JSON.stringify(v)} at ${where(p)} (only local #/ references)`);
      }
      if (k === "format" && (typeof v !== "string" || !FORMATS.has(v))) out.push(`format ${JSON.stringify(v)} at ${where(p)}`);
      if (k === "pattern") {
        const why = patternProblem(v);
        if (why) out.push(`pattern ${JSON.stringify(v)} at ${where(p)} (${why})`);
      }
    }
  };
  walk(schema, at);
  return out;
}

/** Why the converter cannot turn this regular expression into grammar rules, or null. */
function patternProblem(pattern: unknown): string | null {
  if (typeof pattern !== "string") return "not a string";
  if (!pattern.startsWith("^") || !pattern.endsWith("$")) return "it must be anchored with ^ and $";
  if (/\(\?/.test(pattern)) return "lookarounds and special groups are not supported";
  if (/\\[1-9bBdDsSwW]/.test(pattern)) return "back-references and \\d \\w \\s \\b classes are not supported; use [0-9], [a-zA-Z0-9_]…";
  try {
    new RegExp(pattern);
  } catch {
    return "not a valid regular expression";
  }
  return null;
}

/**
 * A validator for the schema (zod's JSON Schema reader), or the reason it
 * cannot be built. `$schema` is dropped: under draft-07's URI zod looks
 * `$defs` up as `definitions`, while llama.cpp resolves any local pointer.
 */
export function schemaValidator(schema: Record<string, unknown>): { validate: (value: unknown) => string | null } | { error: string } {
  try {
    const { $schema: _ignored, ...rest } = schema;
    const zod = z.fromJSONSchema(rest as Parameters<typeof z.fromJSONSchema>[0]);
    return {
      validate: (value) => {
        const r = zod.safeParse(value);
        if (r.success) return null;
        const issue = r.error.issues[0]!;
        return `${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`;
      },
    };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
