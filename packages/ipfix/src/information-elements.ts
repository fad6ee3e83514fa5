/**
 * The information elements (IEs) kernflow exports, RFC 7011 §3.2 / IANA "IPFIX Information Elements".
 *
 * Standard IEs carry what IPFIX has a name for; the rest (process, container, Kubernetes, TCP health) are
 * enterprise-specific IEs under a private enterprise number (PEN) the operator configures. The README
 * table is generated from these two lists' meaning, so keep them the one place an IE is declared.
 */

/** RFC 7011 §7: a field length of 65535 in a template means "variable length" in each record. */
export const VARIABLE_LENGTH = 0xffff;

export type IeType = "unsigned8" | "unsigned16" | "unsigned32" | "unsigned64" | "ipv4" | "ipv6" | "string";

export interface InformationElement {
  readonly name: string;
  readonly id: number;
  /** Bytes on the wire; {@link VARIABLE_LENGTH} for strings. */
  readonly length: number;
  readonly type: IeType;
  /** True for the kernflow IEs, which are sent with the exporter's private enterprise number. */
  readonly enterprise: boolean;
}

const standard = (name: string, id: number, type: IeType, length: number): InformationElement => ({
  name,
  id,
  type,
  length,
  enterprise: false,
});
const enterprise = (name: string, id: number, type: IeType): InformationElement => ({
  name,
  id,
  type,
  length: lengthOf(type),
  enterprise: true,
});

function lengthOf(type: IeType): number {
  switch (type) {
    case "unsigned8":
      return 1;
    case "unsigned16":
      return 2;
    case "unsigned32":
    case "ipv4":
      return 4;
    case "unsigned64":
      return 8;
    case "ipv6":
      return 16;
    case "string":
      return VARIABLE_LENGTH;
  }
}

export const ie = {
  octetDeltaCount: standard("octetDeltaCount", 1, "unsigned64", 8),
  packetDeltaCount: standard("packetDeltaCount", 2, "unsigned64", 8),
  protocolIdentifier: standard("protocolIdentifier", 4, "unsigned8", 1),
  // RFC 7125 widened tcpControlBits to 16 bits (NS, CWR, ECE … FIN), which is what the kernel reports.
  tcpControlBits: standard("tcpControlBits", 6, "unsigned16", 2),
  sourceTransportPort: standard("sourceTransportPort", 7, "unsigned16", 2),
  sourceIPv4Address: standard("sourceIPv4Address", 8, "ipv4", 4),
  ingressInterface: standard("ingressInterface", 10, "unsigned32", 4),
  destinationTransportPort: standard("destinationTransportPort", 11, "unsigned16", 2),
  destinationIPv4Address: standard("destinationIPv4Address", 12, "ipv4", 4),
  egressInterface: standard("egressInterface", 14, "unsigned32", 4),
  sourceIPv6Address: standard("sourceIPv6Address", 27, "ipv6", 16),
  destinationIPv6Address: standard("destinationIPv6Address", 28, "ipv6", 16),
  samplingInterval: standard("samplingInterval", 34, "unsigned32", 4),
  flowDirection: standard("flowDirection", 61, "unsigned8", 1),
  interfaceName: standard("interfaceName", 82, "string", VARIABLE_LENGTH),
  flowStartMilliseconds: standard("flowStartMilliseconds", 152, "unsigned64", 8),
  flowEndMilliseconds: standard("flowEndMilliseconds", 153, "unsigned64", 8),
} as const;

/** kernflow's enterprise IEs; the numbers are part of the export contract: never renumber, only add. */
export const kernflowIe = {
  srcProcessName: enterprise("srcProcessName", 1, "string"),
  dstProcessName: enterprise("dstProcessName", 2, "string"),
  srcProcessId: enterprise("srcProcessId", 3, "unsigned32"),
  dstProcessId: enterprise("dstProcessId", 4, "unsigned32"),
  srcProcessCmdline: enterprise("srcProcessCmdline", 5, "string"),
  dstProcessCmdline: enterprise("dstProcessCmdline", 6, "string"),
  srcContainerId: enterprise("srcContainerId", 7, "string"),
  dstContainerId: enterprise("dstContainerId", 8, "string"),
  srcContainerName: enterprise("srcContainerName", 9, "string"),
  dstContainerName: enterprise("dstContainerName", 10, "string"),
  srcObjectName: enterprise("srcObjectName", 11, "string"),
  dstObjectName: enterprise("dstObjectName", 12, "string"),
  srcObjectNamespace: enterprise("srcObjectNamespace", 13, "string"),
  dstObjectNamespace: enterprise("dstObjectNamespace", 14, "string"),
  srcObjectType: enterprise("srcObjectType", 15, "string"),
  dstObjectType: enterprise("dstObjectType", 16, "string"),
  srcWorkloadName: enterprise("srcWorkloadName", 17, "string"),
  dstWorkloadName: enterprise("dstWorkloadName", 18, "string"),
  srcWorkloadNamespace: enterprise("srcWorkloadNamespace", 19, "string"),
  dstWorkloadNamespace: enterprise("dstWorkloadNamespace", 20, "string"),
  srcNode: enterprise("srcNode", 21, "string"),
  dstNode: enterprise("dstNode", 22, "string"),
  tcpRetransmitCount: enterprise("tcpRetransmitCount", 23, "unsigned64"),
  tcpRttMicroseconds: enterprise("tcpRttMicroseconds", 24, "unsigned32"),
  appLatencyMicroseconds: enterprise("appLatencyMicroseconds", 25, "unsigned64"),
  deviceName: enterprise("deviceName", 26, "string"),
  vantage: enterprise("vantage", 27, "unsigned8"),
  clusterId: enterprise("clusterId", 28, "string"),
} as const;

/**
 * The default private enterprise number. A PLACEHOLDER: 0xFFFFFF00 is not assigned to kernflow by IANA.
 * Operators who ingest these fields should request their own PEN (https://pen.iana.org) or use one their
 * collector is configured for, and set it with `?pen=N` on the export URL or the target's enterprise id.
 */
export const DEFAULT_ENTERPRISE_NUMBER = 0xffffff00;

/** Sentinel for "unknown" in unsigned enterprise fields that have no natural empty value. */
export const UNKNOWN_U32 = 0xffffffff;
export const UNKNOWN_U64 = 0xffffffffffffffffn;
