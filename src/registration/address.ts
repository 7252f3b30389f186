// Picks the IP address an instance registers. Envoy and gRPC clients accept only IP literals (XDS-NOTES.md), and the
// address must be reachable from other hosts, so loopback is a last resort and link-local addresses are never chosen.
import net from 'node:net';
import os from 'node:os';

export type AddressFamily = 4 | 6;

export interface AddressSelection {
  /** 4 (default) or 6; when only a CIDR is given, its family. */
  family?: AddressFamily;
  /** Only consider this network interface (e.g. `eth0`). */
  interface?: string;
  /** Only consider addresses inside this network, e.g. `10.0.0.0/8` or `fd00::/8`. */
  cidr?: string;
}

/** The shape of `os.networkInterfaces()`, so selection can be tested with a fabricated table. */
export type InterfaceTable = Record<string, os.NetworkInterfaceInfo[] | undefined>;

export interface SelectedAddress {
  address: string;
  family: AddressFamily;
  interface: string;
  /** True when loopback was taken only because no other address exists. */
  loopbackFallback: boolean;
}

export interface Cidr {
  network: string;
  prefixLength: number;
  family: AddressFamily;
}

export function parseCidr(cidr: string): Cidr {
  const [network, prefixText, extra] = cidr.trim().split('/');
  const family = net.isIP(network ?? '');
  if (extra !== undefined || prefixText === undefined || family === 0) {
    throw new Error(`invalid CIDR '${cidr}': expected <ip>/<prefix-length>, e.g. 10.0.0.0/8 or fd00::/8`);
  }
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixLength = Number(prefixText);
  if (!/^\d+$/.test(prefixText) || prefixLength > maxPrefix) {
    throw new Error(`invalid CIDR '${cidr}': prefix length must be an integer from 0 to ${maxPrefix}`);
  }
  return { network: network!, prefixLength, family: family as AddressFamily };
}

/** True when `address` (an IP literal) lies inside `cidr`. Addresses of the other family never match. */
export function cidrContains(cidr: Cidr | string, address: string): boolean {
  const range = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  if (net.isIP(address) !== range.family) return false;
  const type = range.family === 4 ? 'ipv4' : 'ipv6';
  // BlockList does the masking for both families; it is Node's own CIDR matcher.
  const list = new net.BlockList();
  list.addSubnet(range.network, range.prefixLength, type);
  return list.check(address, type);
}

// Node reported `family` as a number in 18.0–18.3; accept both spellings.
function familyOf(info: os.NetworkInterfaceInfo): AddressFamily {
  return (info.family as string | number) === 'IPv6' || (info.family as string | number) === 6 ? 6 : 4;
}

const LINK_LOCAL_V6: Cidr = { network: 'fe80::', prefixLength: 10, family: 6 };
const LINK_LOCAL_V4: Cidr = { network: '169.254.0.0', prefixLength: 16, family: 4 };

function isLinkLocal(address: string): boolean {
  return cidrContains(LINK_LOCAL_V6, address) || cidrContains(LINK_LOCAL_V4, address);
}

/** Pure selection over an interface table (os.networkInterfaces() order is kept: the first match wins). */
export function selectAddress(table: InterfaceTable, selection: AddressSelection = {}): SelectedAddress {
  const cidr = selection.cidr === undefined ? undefined : parseCidr(selection.cidr);
  if (cidr && selection.family !== undefined && cidr.family !== selection.family) {
    throw new Error(`CIDR ${selection.cidr} is IPv${cidr.family} but IPv${selection.family} was requested`);
  }
  const family: AddressFamily = selection.family ?? cidr?.family ?? 4;
  const names = Object.keys(table);
  if (selection.interface !== undefined && !names.includes(selection.interface)) {
    throw new Error(`network interface '${selection.interface}' not found (interfaces here: ${names.join(', ') || 'none'})`);
  }

  const seen: string[] = [];
  const candidates: Array<{ name: string; info: os.NetworkInterfaceInfo }> = [];
  for (const name of names) {
    if (selection.interface !== undefined && name !== selection.interface) continue;
    for (const info of table[name] ?? []) {
      if (familyOf(info) !== family) continue;
      seen.push(`${info.address} (${name})`);
      if (isLinkLocal(info.address)) continue;
      if (cidr && !cidrContains(cidr, info.address)) continue;
      candidates.push({ name, info });
    }
  }

  const external = candidates.find((c) => !c.info.internal);
  const chosen = external ?? candidates[0];
  if (!chosen) {
    const where = [selection.interface && `on interface ${selection.interface}`, selection.cidr && `inside ${selection.cidr}`]
      .filter(Boolean)
      .join(' ');
    throw new Error(
      `no usable IPv${family} address${where ? ` ${where}` : ''} (link-local addresses are skipped; ` +
        `IPv${family} addresses seen: ${seen.join(', ') || 'none'})`,
    );
  }
  // Loopback chosen through an explicit interface or CIDR is what the caller asked for, not a fallback.
  const asked = selection.interface !== undefined || selection.cidr !== undefined;
  return { address: chosen.info.address, family, interface: chosen.name, loopbackFallback: !external && !asked };
}

export interface DetectAddressOptions extends AddressSelection {
  /** Receives a warning when only a loopback address is available. */
  logger?: { warn(obj: object, msg: string): void };
}

/** The address of this host to register, from os.networkInterfaces(). Throws a descriptive error when none fits. */
export function detectAddress(options: DetectAddressOptions = {}): string {
  const { logger, ...selection } = options;
  const selected = selectAddress(os.networkInterfaces(), selection);
  if (selected.loopbackFallback) {
    logger?.warn(
      { address: selected.address, interface: selected.interface },
      'no non-loopback address found; registering the loopback address (reachable from this host only)',
    );
  }
  return selected.address;
}
