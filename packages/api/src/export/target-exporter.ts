import { IpfixExporter } from "@kernflow/ipfix";
import { parseTargetUrl } from "./target-url";

export interface TargetRow {
  id: string;
  kind: "ipfix_udp" | "ipfix_tcp" | "nats";
  url: string;
  enterpriseId: number | null;
}

/** An IPFIX exporter for a target row; throws (InvalidInputError) on a URL that does not fit its kind. */
export function createTargetExporter(
  target: Omit<TargetRow, "id">,
  log?: (message: string) => void,
): IpfixExporter {
  if (target.kind === "nats") throw new Error("nats export is not available in this build");
  const address = parseTargetUrl(target.kind, target.url);
  return new IpfixExporter({
    transport: target.kind === "ipfix_udp" ? "udp" : "tcp",
    host: address.host,
    port: address.port,
    ...(target.enterpriseId === null ? {} : { enterpriseNumber: target.enterpriseId }),
    ...(log === undefined ? {} : { log }),
  });
}
