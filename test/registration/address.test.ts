import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { cidrContains, detectAddress, parseCidr, selectAddress, type InterfaceTable } from '../../src/registration/address.js';

function entry(address: string, internal = false): os.NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return v6
    ? { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal, cidr: `${address}/64`, scopeid: 0 }
    : { address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` };
}

const table: InterfaceTable = {
  lo: [entry('127.0.0.1', true), entry('::1', true)],
  eth0: [entry('169.254.10.1'), entry('192.168.1.20'), entry('fe80::1'), entry('2001:db8::20')],
  eth1: [entry('10.1.2.3'), entry('fd00::3')],
};

describe('CIDR matching', () => {
  it('matches IPv4 and IPv6 networks, never across families', () => {
    expect(cidrContains('10.0.0.0/8', '10.1.2.3')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '11.0.0.1')).toBe(false);
    expect(cidrContains('192.168.1.0/24', '192.168.1.255')).toBe(true);
    expect(cidrContains('192.168.1.0/24', '192.168.2.0')).toBe(false);
    expect(cidrContains('10.1.2.3/32', '10.1.2.3')).toBe(true);
    expect(cidrContains('0.0.0.0/0', '8.8.8.8')).toBe(true);
    expect(cidrContains('fd00::/8', 'fd12:3456::1')).toBe(true);
    expect(cidrContains('fd00::/8', 'fe80::1')).toBe(false);
    expect(cidrContains('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(cidrContains('2001:db8::/32', '2001:db9::1')).toBe(false);
    expect(cidrContains('10.0.0.0/8', 'fd00::1')).toBe(false);
    expect(cidrContains('::/0', '10.0.0.1')).toBe(false);
  });

  it('treats host bits in the network address as masked', () => {
    expect(cidrContains('10.1.2.3/8', '10.200.0.1')).toBe(true);
  });

  it('rejects malformed CIDRs with a clear message', () => {
    expect(() => parseCidr('10.0.0.0')).toThrow(/invalid CIDR '10.0.0.0': expected <ip>\/<prefix-length>/);
    expect(() => parseCidr('10.0.0.0/40')).toThrow(/prefix length must be an integer from 0 to 32/);
    expect(() => parseCidr('fd00::/129')).toThrow(/from 0 to 128/);
    expect(() => parseCidr('host/8')).toThrow(/invalid CIDR/);
    expect(parseCidr('fd00::/8')).toEqual({ network: 'fd00::', prefixLength: 8, family: 6 });
  });
});

describe('address selection over an interface table', () => {
  it('takes the first non-internal IPv4 address, skipping link-local', () => {
    expect(selectAddress(table)).toEqual({ address: '192.168.1.20', family: 4, interface: 'eth0', loopbackFallback: false });
  });

  it('takes the first non-link-local IPv6 address for family 6', () => {
    expect(selectAddress(table, { family: 6 }).address).toBe('2001:db8::20');
  });

  it('honours an interface name', () => {
    expect(selectAddress(table, { interface: 'eth1' }).address).toBe('10.1.2.3');
    expect(selectAddress(table, { interface: 'eth1', family: 6 }).address).toBe('fd00::3');
    expect(() => selectAddress(table, { interface: 'wlan0' })).toThrow(
      "network interface 'wlan0' not found (interfaces here: lo, eth0, eth1)",
    );
  });

  it('honours a CIDR, whose family applies when none is given', () => {
    expect(selectAddress(table, { cidr: '10.0.0.0/8' }).address).toBe('10.1.2.3');
    expect(selectAddress(table, { cidr: 'fd00::/8' })).toMatchObject({ address: 'fd00::3', family: 6 });
    expect(() => selectAddress(table, { cidr: '172.16.0.0/12' })).toThrow(
      /no usable IPv4 address inside 172.16.0.0\/12 .*seen: 127.0.0.1 \(lo\), 169.254.10.1 \(eth0\), 192.168.1.20 \(eth0\), 10.1.2.3 \(eth1\)/,
    );
    expect(() => selectAddress(table, { cidr: '10.0.0.0/8', family: 6 })).toThrow(/is IPv4 but IPv6 was requested/);
    expect(() => selectAddress(table, { interface: 'eth0', cidr: '10.0.0.0/8' })).toThrow(
      /no usable IPv4 address on interface eth0 inside 10.0.0.0\/8/,
    );
  });

  it('falls back to loopback only when nothing else exists, and says so', () => {
    const loopbackOnly: InterfaceTable = { lo: table.lo, eth0: [entry('fe80::9')] };
    expect(selectAddress(loopbackOnly)).toEqual({ address: '127.0.0.1', family: 4, interface: 'lo', loopbackFallback: true });
    expect(selectAddress(loopbackOnly, { family: 6 }).address).toBe('::1');
    // Asked for explicitly: not a fallback.
    expect(selectAddress(table, { interface: 'lo' })).toMatchObject({ address: '127.0.0.1', loopbackFallback: false });
    expect(selectAddress(table, { cidr: '127.0.0.0/8' })).toMatchObject({ address: '127.0.0.1', loopbackFallback: false });
  });

  it('fails clearly when there is no address of the family at all', () => {
    expect(() => selectAddress({ eth0: [entry('10.0.0.1')] }, { family: 6 })).toThrow(/no usable IPv6 address .*seen: none/);
  });
});

describe('detectAddress on this machine', () => {
  const interfaces = os.networkInterfaces();
  const usable = (family: 'IPv4' | 'IPv6') =>
    Object.entries(interfaces).flatMap(([name, infos]) =>
      (infos ?? [])
        .filter((i) => i.family === family && !i.internal && !i.address.startsWith('fe80:') && !i.address.startsWith('169.254.'))
        .map((i) => ({ name, ...i })),
    );
  const v4 = usable('IPv4');
  const v6 = usable('IPv6');

  it('returns the first non-loopback IPv4 address when one exists', () => {
    const expected = v4[0]?.address ?? '127.0.0.1';
    const warnings: string[] = [];
    expect(detectAddress({ logger: { warn: (_o, msg) => warnings.push(msg) } })).toBe(expected);
    expect(warnings.length).toBe(v4.length === 0 ? 1 : 0);
  });

  it.skipIf(v6.length === 0)('returns a non-link-local IPv6 address for family 6', () => {
    expect(detectAddress({ family: 6 })).toBe(v6[0]!.address);
  });

  it.skipIf(v4.length === 0)("honours the interface of this machine's addresses", () => {
    const last = v4[v4.length - 1]!;
    const firstOnThatInterface = v4.find((a) => a.name === last.name)!;
    expect(detectAddress({ interface: last.name })).toBe(firstOnThatInterface.address);
  });

  it.skipIf(v4.length === 0)("honours a CIDR built from this machine's address", () => {
    const target = v4[v4.length - 1]!;
    expect(detectAddress({ cidr: `${target.address}/32` })).toBe(target.address);
    expect(detectAddress({ cidr: target.cidr! })).toBe(v4.find((a) => cidrContains(target.cidr!, a.address))!.address);
  });
});
