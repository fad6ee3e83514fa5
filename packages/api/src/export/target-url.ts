import { isIP } from "node:net";
import type { ExportKind } from "@kernflow/db";
import { InvalidInputError } from "../errors";

/** Where an export target sends: parsed from its URL, checked against its kind. */
export interface TargetAddress {
  host: string;
  port: number;
  /** NATS only. */
  subject: string | null;
}

const schemeOf: Record<ExportKind, string> = { ipfix_udp: "ipfix", ipfix_tcp: "ipfix+tcp", nats: "nats" };
const defaultPort: Record<ExportKind, number> = { ipfix_udp: 4739, ipfix_tcp: 4739, nats: 4222 };
/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
const hostnamePattern =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const natsSubjectPattern = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
const urlPattern =
  /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]*\]|[^/:?#]*)(?::([^/?#]*))?(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i;

/**
 * The URL forms of CONTRACTS.md §2 (`ipfix://HOST:PORT`, `ipfix+tcp://HOST:PORT`, `nats://HOST:PORT/SUBJECT`),
 * parsed by hand rather than with WHATWG `URL` so each fault gets its own message (`URL` refuses a port over
 * 65535 with the same "Invalid URL" as everything else). Every message starts with `url:` so REST and the
 * console name the field.
 */
export function parseTargetUrl(kind: ExportKind, url: string): TargetAddress {
  const scheme = schemeOf[kind];
  const match = urlPattern.exec(url.trim());
  if (match === null) throw new InvalidInputError(`url: must look like ${example(kind)}`);
  const [, givenScheme, rawHost = "", rawPort, path = "", query, fragment] = match;
  if ((givenScheme as string).toLowerCase() !== scheme) {
    throw new InvalidInputError(
      `url: scheme "${givenScheme}" does not match kind ${kind}; use ${scheme}:// (e.g. ${example(kind)})`,
    );
  }
  if (query !== undefined || fragment !== undefined) {
    throw new InvalidInputError("url: must not carry a query or a fragment");
  }
  const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost;
  if (host === "") throw new InvalidInputError(`url: has no host; e.g. ${example(kind)}`);
  const bracketed = rawHost.startsWith("[");
  if (bracketed ? isIP(host) !== 6 : isIP(host) === 0 && !hostnamePattern.test(host)) {
    throw new InvalidInputError(`url: "${host}" is not a valid host name or IP address`);
  }
  let port = defaultPort[kind];
  if (rawPort !== undefined) {
    if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      throw new InvalidInputError(`url: port "${rawPort}" is out of range; it must be between 1 and 65535`);
    }
    port = Number(rawPort);
  }
  if (kind === "nats") {
    const subject = decodeURIComponent(path.replace(/^\//, ""));
    if (!natsSubjectPattern.test(subject)) {
      throw new InvalidInputError(`url: a NATS target needs a subject, e.g. ${example(kind)}`);
    }
    return { host, port, subject };
  }
  if (path !== "" && path !== "/") throw new InvalidInputError("url: an IPFIX collector URL has no path");
  return { host, port, subject: null };
}

function example(kind: ExportKind): string {
  return kind === "nats"
    ? "nats://nats.example:4222/kernflow.flows"
    : `${schemeOf[kind]}://collector.example:4739`;
}
