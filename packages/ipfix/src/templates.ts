import { type InformationElement, ie, kernflowIe } from "./information-elements";

/** Template ids of the data sets; ids below 256 are reserved for set ids (RFC 7011 §3.4.1). */
export const IPV4_TEMPLATE_ID = 256;
export const IPV6_TEMPLATE_ID = 257;

const commonStandard = [
  ie.sourceTransportPort,
  ie.destinationTransportPort,
  ie.protocolIdentifier,
  ie.octetDeltaCount,
  ie.packetDeltaCount,
  ie.flowStartMilliseconds,
  ie.flowEndMilliseconds,
  ie.tcpControlBits,
  ie.flowDirection,
  ie.ingressInterface,
  ie.egressInterface,
  ie.samplingInterval,
] as const;

/**
 * Fixed-length fields first, strings last: a decoder that stops at the first IE it does not know (some
 * collectors do) still gets every standard field. The order is the order {@link encodeRecord} writes.
 */
const enterpriseFixed = [
  kernflowIe.srcProcessId,
  kernflowIe.dstProcessId,
  kernflowIe.tcpRetransmitCount,
  kernflowIe.tcpRttMicroseconds,
  kernflowIe.appLatencyMicroseconds,
  kernflowIe.vantage,
] as const;

const strings = [
  ie.interfaceName,
  kernflowIe.deviceName,
  kernflowIe.srcProcessName,
  kernflowIe.dstProcessName,
  kernflowIe.srcProcessCmdline,
  kernflowIe.dstProcessCmdline,
  kernflowIe.srcContainerId,
  kernflowIe.dstContainerId,
  kernflowIe.srcContainerName,
  kernflowIe.dstContainerName,
  kernflowIe.srcObjectName,
  kernflowIe.dstObjectName,
  kernflowIe.srcObjectNamespace,
  kernflowIe.dstObjectNamespace,
  kernflowIe.srcObjectType,
  kernflowIe.dstObjectType,
  kernflowIe.srcWorkloadName,
  kernflowIe.dstWorkloadName,
  kernflowIe.srcWorkloadNamespace,
  kernflowIe.dstWorkloadNamespace,
  kernflowIe.srcNode,
  kernflowIe.dstNode,
  kernflowIe.clusterId,
] as const;

/** Number of variable-length fields in every record, in {@link strings} order. */
export const STRING_FIELD_COUNT = strings.length;

export interface Template {
  readonly id: number;
  readonly fields: readonly InformationElement[];
}

export const ipv4Template: Template = {
  id: IPV4_TEMPLATE_ID,
  fields: [
    ie.sourceIPv4Address,
    ie.destinationIPv4Address,
    ...commonStandard,
    ...enterpriseFixed,
    ...strings,
  ],
};

export const ipv6Template: Template = {
  id: IPV6_TEMPLATE_ID,
  fields: [
    ie.sourceIPv6Address,
    ie.destinationIPv6Address,
    ...commonStandard,
    ...enterpriseFixed,
    ...strings,
  ],
};

export const templates: readonly Template[] = [ipv4Template, ipv6Template];

/** Bytes of a template record: id + count, then 4 bytes per field, plus 4 for each enterprise number. */
export function templateRecordLength(template: Template): number {
  let length = 4;
  for (const field of template.fields) length += field.enterprise ? 8 : 4;
  return length;
}

/** Bytes of the fixed-length part of one data record of the template (strings excluded). */
export function fixedRecordLength(template: Template): number {
  let length = 0;
  for (const field of template.fields) if (field.type !== "string") length += field.length;
  return length;
}
