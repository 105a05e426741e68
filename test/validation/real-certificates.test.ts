import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificates } from '../../src/validation/parse-certificates.js';
import { checkCertificateStructure } from '../../src/validation/structure-rules.js';

const run = promisify(execFile);
const VECTORS = '/usr/lib/python3/dist-packages/cryptography_vectors/x509';
const SYSTEM_STORE = '/etc/ssl/certs';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const PEM_CERTIFICATE = /-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----([^-]*)-----END/;

/** The DER of a file's first certificate (PEM) or the file itself (DER); undefined for PEM files that hold no certificate. */
function certificateDer(bytes: Buffer): Buffer | undefined {
  const text = bytes.toString('latin1');
  if (!text.includes('-----BEGIN')) return bytes;
  const match = PEM_CERTIFICATE.exec(text);
  return match ? Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64') : undefined;
}

interface Sample {
  name: string;
  der: Buffer;
  /** Where the DER is written for openssl. */
  path: string;
}

type Outcome = 'read' | 'invalid' | 'unsupported-key' | 'refused-structure';

/** What hotcert's reader makes of one certificate: parseCertificates, then the structure rules that refuse what TLS clients refuse. */
function hotcertReads(der: Buffer): Outcome {
  const parsed = parseCertificates([{ index: 1, label: 'CERTIFICATE', der, headers: [] }]);
  if (parsed.errors.some((e) => e.rule === 'certificate-invalid')) return 'invalid';
  if (parsed.errors.some((e) => e.rule === 'unsupported-key')) return 'unsupported-key';
  if (parsed.certificates.length !== 1) throw new Error(`unexpected findings: ${parsed.errors.map((e) => e.rule).join(', ')}`);
  return checkCertificateStructure(parsed.certificates[0]!).length > 0 ? 'refused-structure' : 'read';
}

/**
 * The deliberate differences: certificates node:crypto and openssl x509 both read, that hotcert reads too
 * but refuses to serve, saying why. Everything else must get the same verdict from all three.
 */
const DELIBERATE: Record<string, Outcome> = {
  // DSA keys whose parameters are inherited from the issuer (absent from the key): node cannot load such a key.
  'PKITS_data/certs/DSAParametersInheritedCACert.crt': 'unsupported-key',
  'PKITS_data/certs/ValidDSAParameterInheritanceTest5EE.crt': 'unsupported-key',
  // A GOST R 34.10-2001 key: node cannot load it; reported as unsupported-key naming the algorithm.
  'e-trust.ru.der': 'unsupported-key',
  // A key algorithm OID nobody knows.
  'custom/unsupported_subject_public_key_info.pem': 'unsupported-key',
  // notAfter not in the RFC 5280 form: openssl x509 prints it, but OpenSSL's verifier refuses the certificate
  // ("format error in certificate's notAfter field").
  'badasn1time.pem': 'refused-structure',
  // basicConstraints twice (the second one could change the CA flag): RFC 5280 4.2 forbids repeating an
  // extension and Go's crypto/x509 refuses it, though OpenSSL 3.0 accepts it.
  'custom/two_basic_constraints.pem': 'refused-structure',
};

function nodeAccepts(der: Buffer): boolean {
  try {
    new X509Certificate(der);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let samples: Sample[] = [];
let opensslVerdict = new Map<string, boolean>();

beforeAll(async () => {
  if (!existsSync(VECTORS)) throw new Error(`${VECTORS} is missing: install the Debian package python3-cryptography-vectors`);
  if (!existsSync(SYSTEM_STORE)) throw new Error(`${SYSTEM_STORE} is missing: install the Debian package ca-certificates`);
  dir = mkdtempSync(join(tmpdir(), 'hotcert-interop-'));
  const files = [
    ...walk(VECTORS).filter((f) => /\.(pem|der|crt)$/.test(f) && !/\/(requests|ocsp)\//.test(f)),
    ...readdirSync(SYSTEM_STORE).filter((f) => f.endsWith('.pem')).map((f) => join(SYSTEM_STORE, f)),
  ];
  for (const file of files) {
    const der = certificateDer(readFileSync(file));
    if (!der) continue;
    const path = join(dir, `${samples.length}.der`);
    writeFileSync(path, der);
    samples.push({ name: file.startsWith(VECTORS) ? relative(VECTORS, file) : file, der, path });
  }
  opensslVerdict = await opensslReads(samples);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * `openssl verify` loads every file named on its command line with the loader `openssl x509` uses
 * (load_cert), reports the files it cannot read, and goes on: one process instead of hundreds.
 */
async function opensslReads(list: Sample[]): Promise<Map<string, boolean>> {
  const verdict = new Map<string, boolean>();
  const byPath = new Map(list.map((s) => [s.path, s]));
  const result = await run('openssl', ['verify', '-no-CApath', '-no-CAfile', ...list.map((s) => s.path)], { maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout: string; stderr: string; code?: unknown }) => {
    if (error.code === 'ENOENT') throw new Error('openssl is missing: install the Debian package openssl');
    return error;
  });
  for (const line of `${result.stdout}\n${result.stderr}`.split('\n')) {
    const unreadable = /^Could not read certificate file from (.+)$/.exec(line)?.[1];
    const read = /^(.+): OK$/.exec(line)?.[1] ?? /^error (.+): verification failed$/.exec(line)?.[1];
    for (const [path, ok] of [[unreadable, false], [read, true]] as const) {
      if (path === undefined || !byPath.has(path)) continue;
      verdict.set(path, (verdict.get(path) ?? ok) && ok);
    }
  }
  const unknown = list.filter((s) => !verdict.has(s.path));
  if (unknown.length > 0) {
    const sample = result.stderr.split('\n').slice(0, 5).join(' | ');
    throw new Error(`openssl verify said nothing recognisable about ${unknown.length} file(s), e.g. ${unknown[0]!.name} (did its output format change? stderr starts: ${sample})`);
  }
  // Where the batch says "unreadable", ask `openssl x509 -noout` itself (a few files, a few processes).
  const unreadable = [...verdict].filter(([, ok]) => !ok).map(([path]) => path);
  await Promise.all(unreadable.map(async (path) => {
    const x509 = await run('openssl', ['x509', '-noout', '-inform', 'DER', '-in', path]).then(() => true, () => false);
    if (x509) throw new Error(`openssl verify could not load ${byPath.get(path)!.name} but openssl x509 reads it`);
  }));
  return verdict;
}

describe('the certificate reader agrees with node:crypto and openssl on certificates we did not write', () => {
  it('reads exactly the certificates both read, and refuses to serve only the deliberate differences', () => {
    expect(samples.filter((s) => s.name.startsWith(SYSTEM_STORE)).length).toBeGreaterThan(100);
    expect(samples.filter((s) => !s.name.startsWith(SYSTEM_STORE)).length).toBeGreaterThan(400);
    expect(opensslVerdict.size).toBe(samples.length);
    // Not vacuous: the corpus holds files none of the three can read (CRLs, a bare TBSCertificate, ...).
    expect(samples.filter((s) => opensslVerdict.get(s.path) === false).length).toBeGreaterThan(5);
    const disagreements: string[] = [];
    const refused: Record<string, Outcome> = {};
    for (const sample of samples) {
      const outcome = hotcertReads(sample.der);
      const hotcert = outcome !== 'invalid';
      const node = nodeAccepts(sample.der);
      const openssl = opensslVerdict.get(sample.path);
      if (hotcert !== node || hotcert !== openssl) disagreements.push(`${sample.name}: hotcert ${outcome}, node ${node}, openssl ${openssl}`);
      if (outcome === 'unsupported-key' || outcome === 'refused-structure') refused[sample.name] = outcome;
    }
    expect(disagreements).toEqual([]);
    expect(refused).toEqual(DELIBERATE);
  }, 120_000);
});
