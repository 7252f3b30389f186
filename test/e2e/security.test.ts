// Production security settings against real peers: xDS over mutual TLS, and etcd with authentication enabled.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/snapshot/types.js';
import { AdsTestStream, NODE } from '../support/ads-client.js';
import { startTestControlPlane } from '../support/control-plane.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';

/** A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=etcd-xds test CA', '-keyout', file('ca.key'), '-out', file('ca.crt'));
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, ext] of [['server', ['-extfile', file('server.ext')]], ['client', []]] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-out', file(`${name}.crt`), ...ext);
  }
  return { ca: file('ca.crt'), serverCert: file('server.crt'), serverKey: file('server.key'), clientCert: file('client.crt'), clientKey: file('client.key') };
}

describe('security settings', () => {
  let etcd: TestEtcd;
  let dir: string;

  beforeAll(async () => {
    etcd = await startTestEtcd();
    dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-xds-tls-'));
    const client = new Etcd3({ hosts: etcd.endpoint });
    await client.put('/services/secure/i1').value('10.2.0.1:443');
    client.close();
  });
  afterAll(async () => {
    await etcd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves xDS over mutual TLS: a client with a certificate from the CA is answered, one without is refused', async () => {
    const certs = makeCertificates(dir);
    const cp = await startTestControlPlane(etcd, { xdsTls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca } });
    const trusted = grpc.credentials.createSsl(readFileSync(certs.ca), readFileSync(certs.clientKey), readFileSync(certs.clientCert));
    const withCert = new AdsTestStream(cp.xdsAddress, 'sotw', 'ads', trusted);
    const withoutCert = new AdsTestStream(cp.xdsAddress, 'sotw', 'ads', grpc.credentials.createSsl(readFileSync(certs.ca)));
    const plaintext = new AdsTestStream(cp.xdsAddress, 'sotw');
    try {
      withCert.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['secure'] });
      expect(JSON.stringify((await withCert.next()).resources[0]!.message)).toContain('10.2.0.1');
      for (const refused of [withoutCert, plaintext]) {
        refused.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['secure'] });
        await eventually(async () => refused.ended, Boolean, 'the connection to be refused');
        expect(refused.error?.message).toMatch(/UNAVAILABLE/);
      }
    } finally {
      for (const s of [withCert, withoutCert, plaintext]) s.close();
      await cp.plane.close();
    }
  });

  it('reads etcd with authentication enabled, given a user and password', async (ctx) => {
    // Enabling auth on a shared external etcd (ETCD_ENDPOINTS) would lock its other users out.
    if (!etcd.controllable) ctx.skip();
    const admin = new Etcd3({ hosts: etcd.endpoint });
    const root = await admin.user('root').create('root-password');
    await root.addRole('root');
    const reader = await admin.user('xds-reader').create('reader-password');
    const role = await admin.role('xds-read').create();
    await role.grant({ permission: 'Read', range: admin.range({ prefix: '/services/' }) });
    await reader.addRole(role);
    await admin.auth.authEnable();
    admin.close();

    const cp = await startTestControlPlane(etcd, { etcdAuth: { username: 'xds-reader', password: 'reader-password' } });
    const stream = new AdsTestStream(cp.xdsAddress, 'sotw');
    try {
      stream.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['secure'] });
      expect(JSON.stringify((await stream.next()).resources[0]!.message)).toContain('10.2.0.1');
    } finally {
      stream.close();
      await cp.plane.close();
    }
  });
});
