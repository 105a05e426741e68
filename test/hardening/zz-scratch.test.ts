import { it } from 'vitest';
import { writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { validateBundle } from '../../src/validation/validate-bundle.js';
import { createChain, pemBundle } from '../helpers/pki.js';
import * as a from './asn1.js';

it('scratch', async () => {
  const chain = await createChain();
  const inter = chain.intermediates[0]!;
  const parts = a.splitCertificate(chain.leaf.cert.raw);
  const signed = (fields: Buffer[]) => a.signCertificate(fields, inter.key.privateKey);
  const dir = '/tmp/hc/ossl'; mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/root.pem`, chain.root.certPem); writeFileSync(`${dir}/inter.pem`, inter.certPem);
  const run = (name: string, der: Buffer) => {
    writeFileSync(`${dir}/leaf.pem`, a.toPem(der));
    let out: string;
    try { out = execFileSync('/usr/bin/openssl', ['verify', '-untrusted', `${dir}/inter.pem`, '-CAfile', `${dir}/root.pem`, '-purpose', 'sslserver', `${dir}/leaf.pem`], { stdio: 'pipe' }).toString().trim(); }
    catch (e: any) { out = 'FAIL ' + String(e.stdout).split('\n')[1]; }
    const r = validateBundle(pemBundle(chain.leaf.keyPem, a.toPem(der), inter.certPem));
    console.log(name, '=> openssl', out.replace(/\n/g, ' | ').slice(0, 120), '| ours:', r.ok ? 'ACCEPTED' : r.errors.map((e) => e.rule).join(','));
  };
  const exts = a.extensionsOf(parts.tbsFields);
  const names = exts.map((e) => a.readTlv(a.children(e)[0]!).content.toString('hex'));
  console.log(names);
  const ext = (i: number, value: Buffer, critical = false) => { const copy = [...exts]; copy[i] = a.extension(['2.5.29.19','2.5.29.15','2.5.29.37','2.5.29.17','2.5.29.14','2.5.29.35'][i]!, critical, value); return copy; };
  run('ski garbage', signed(a.withExtensions(parts.tbsFields, ext(4, a.sequence(a.NULL)))));
  run('aki garbage', signed(a.withExtensions(parts.tbsFields, ext(5, a.octetString(Buffer.from([1,2]))))));
  run('san trailing', signed(a.withExtensions(parts.tbsFields, ext(3, Buffer.concat([a.readTlv(a.children(exts[3]!).at(-1)!).content, a.NULL])))));
  run('bc pathlen on leaf', signed(a.withExtensions(parts.tbsFields, ext(0, a.sequence(a.tlv(2, Buffer.from([1]))), true))));
  run('bc neg pathlen on leaf', signed(a.withExtensions(parts.tbsFields, ext(0, a.sequence(a.tlv(2, Buffer.from([0xff]))), true))));
  run('nc garbage', signed(a.withExtensions(parts.tbsFields, [...exts, a.extension('2.5.29.30', false, a.NULL)])));
  run('crldp garbage', signed(a.withExtensions(parts.tbsFields, [...exts, a.extension('2.5.29.31', false, a.NULL)])));
  run('policies garbage', signed(a.withExtensions(parts.tbsFields, [...exts, a.extension('2.5.29.32', false, a.NULL)])));
  run('aia garbage', signed(a.withExtensions(parts.tbsFields, [...exts, a.extension('1.3.6.1.5.5.7.1.1', false, a.NULL)])));
  run('dup unknown', signed(a.withExtensions(parts.tbsFields, [...exts, a.extension('1.2.3.4', false, a.NULL), a.extension('1.2.3.4', false, a.NULL)])));
  run('ext value empty', signed(a.withExtensions(parts.tbsFields, ext(3, Buffer.alloc(0)))));
  run('eku empty seq', signed(a.withExtensions(parts.tbsFields, ext(2, a.sequence()))));
  run('san empty seq', signed(a.withExtensions(parts.tbsFields, ext(3, a.sequence()))));
  run('ku empty bits', signed(a.withExtensions(parts.tbsFields, ext(1, a.tlv(3, Buffer.from([0])), true))));
});
