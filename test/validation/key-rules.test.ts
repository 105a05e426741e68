import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkKeyStrength } from '../../src/validation/key-rules.js';
import { validateBundle, type BundleValidation } from '../../src/validation/validate-bundle.js';
import { createChain, encryptKeyPem, pemBundle, toPkcs1Pem, toSec1Pem, type TestChain } from '../helpers/pki.js';

const errorRules = (r: BundleValidation): string[] => (r.ok ? [] : r.errors.map((e) => e.rule));
const warningRules = (r: BundleValidation): string[] => r.warnings.map((w) => w.rule);
const errors = (r: BundleValidation) => (r.ok ? [] : r.errors);

let ec: TestChain;
let rsa: TestChain;
beforeAll(async () => {
  [ec, rsa] = await Promise.all([createChain(), createChain({ keyKind: 'rsa2048' })]);
});

function withKey(chain: TestChain, keyPem: string): string {
  return pemBundle(keyPem, chain.leaf.certPem, ...chain.intermediates.map((c) => c.certPem));
}

describe('rule 2: exactly one unencrypted private key', () => {
  it('accepts PKCS#8 and re-exports it as PKCS#8', () => {
    const result = validateBundle(ec.bundle);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.bundle.keyPem).toBe(ec.leaf.keyPem);
  });

  it('accepts RSA PRIVATE KEY (PKCS#1), stored as PKCS#8 with a warning', () => {
    const result = validateBundle(withKey(rsa, toPkcs1Pem(rsa.leaf.keyPem)));
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['normalised-key']);
    if (result.ok) expect(result.bundle.keyPem).toBe(rsa.leaf.keyPem);
  });

  it('accepts EC PRIVATE KEY (SEC 1), stored as PKCS#8 with a warning', () => {
    const result = validateBundle(withKey(ec, toSec1Pem(ec.leaf.keyPem)));
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['normalised-key']);
    if (result.ok) expect(result.bundle.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('rejects ENCRYPTED PRIVATE KEY with the openssl pkey command', () => {
    const result = validateBundle(withKey(ec, encryptKeyPem(ec.leaf.keyPem, 'pkcs8')));
    expect(errorRules(result)).toEqual(['key-encrypted']);
    expect(errors(result)[0]!.message).toContain('openssl pkey -in key.pem -out key-decrypted.pem');
    expect(errors(result)[0]!.message).toMatch(/^block 1 /);
  });

  it('rejects a legacy Proc-Type: 4,ENCRYPTED key, RSA and EC', () => {
    for (const chain of [rsa, ec]) {
      const legacy = encryptKeyPem(chain.leaf.keyPem, 'legacy');
      expect(legacy).toContain('Proc-Type: 4,ENCRYPTED');
      const result = validateBundle(withKey(chain, legacy));
      expect(errorRules(result)).toEqual(['key-encrypted']);
      expect(errors(result)[0]!.message).toContain('openssl pkey');
    }
  });

  it('still reports certificate problems next to an encrypted key', () => {
    const result = validateBundle(pemBundle(encryptKeyPem(ec.leaf.keyPem), ec.leaf.certPem));
    expect(errorRules(result)).toEqual(['key-encrypted', 'chain-missing-intermediate']);
  });

  it('rejects a bundle without a key', () => {
    expect(errorRules(validateBundle(pemBundle(ec.leaf.certPem, ec.intermediates[0]!.certPem)))).toEqual(['key-missing']);
  });

  it('rejects two keys', () => {
    const result = validateBundle(pemBundle(ec.bundle, rsa.leaf.keyPem));
    expect(errorRules(result)).toEqual(['key-count']);
    expect(errors(result)[0]!.message).toContain('block 1, block 4');
  });

  it('rejects a key block that is not a key', () => {
    const fake = ec.leaf.certPem.replace(/CERTIFICATE/g, 'PRIVATE KEY');
    expect(errorRules(validateBundle(pemBundle(fake, ec.leaf.certPem, ec.intermediates[0]!.certPem)))).toEqual(['key-invalid']);
  });

  it('rejects a bundle without certificates', () => {
    expect(errorRules(validateBundle(ec.leaf.keyPem))).toEqual(['certificate-missing']);
  });
});

describe('rule 7: key types', () => {
  it.each([
    ['rsa3072', 'RSA-3072'],
    ['ec384', 'EC-P384'],
    ['ec521', 'EC-P521'],
  ] as const)('accepts %s', async (keyKind, keyType) => {
    const chain = await createChain({ keyKind });
    const result = validateBundle(chain.bundle);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([]);
    if (result.ok) expect(result.bundle.certificate.key_type).toBe(keyType);
  });

  it('accepts RSA-2048 and EC-P256', () => {
    for (const [chain, keyType] of [[rsa, 'RSA-2048'], [ec, 'EC-P256']] as const) {
      const result = validateBundle(chain.bundle);
      expect(result.ok && result.bundle.certificate.key_type).toBe(keyType);
    }
  });

  it('accepts Ed25519 with a warning', async () => {
    const chain = await createChain({ keyKind: 'ed25519' });
    const result = validateBundle(chain.bundle);
    expect(result.ok).toBe(true);
    expect(warningRules(result)).toEqual(['ed25519']);
    if (result.ok) expect(result.bundle.certificate.key_type).toBe('Ed25519');
  });

  it('rejects a 1024-bit RSA server key', async () => {
    const chain = await createChain({ leaf: { keyKind: 'rsa1024' } });
    const result = validateBundle(chain.bundle);
    expect(errorRules(result)).toEqual(['weak-key']);
    expect(errors(result)[0]!.message).toMatch(/^block 1 .*1024-bit/);
  });

  it('rejects a 1024-bit RSA intermediate key, naming its block', async () => {
    const chain = await createChain({ intermediate: { keyKind: 'rsa1024' } });
    const result = validateBundle(chain.bundle);
    expect(errorRules(result)).toEqual(['weak-key']);
    expect(errors(result)[0]!.block).toBe(3);
    expect(errors(result)[0]!.message).toContain('block 3 (CN=hotcert test intermediate');
  });

  it('rejects EC keys on other curves and Ed448', async () => {
    for (const keyKind of ['secp256k1', 'ed448'] as const) {
      const chain = await createChain({ leaf: { keyKind } });
      const result = validateBundle(chain.bundle);
      expect(errorRules(result)).toEqual(['unsupported-key']);
      expect(errors(result)[0]!.block).toBe(1);
    }
  });
});

describe('rule 7: EC keys with explicit curve parameters', () => {
  /** A self-signed server certificate whose key openssl wrote with explicit P-256 parameters (no curve OID). */
  function explicitCurveBundle(): { key: string; cert: string } {
    const dir = mkdtempSync(join(tmpdir(), 'hotcert-explicit-'));
    try {
      const openssl = (...args: string[]) => {
        try {
          execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('openssl is missing: install the Debian package openssl');
          throw error;
        }
      };
      openssl('ecparam', '-name', 'prime256v1', '-param_enc', 'explicit', '-genkey', '-noout', '-out', 'key.pem');
      openssl('req', '-x509', '-key', 'key.pem', '-subj', '/CN=localhost', '-days', '30', '-out', 'cert.pem',
        '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'subjectAltName=DNS:localhost', '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth');
      return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('rejects them with their own rule and the openssl command that converts the key', () => {
    const { key, cert } = explicitCurveBundle();
    expect(key).toContain('BEGIN EC PRIVATE KEY');
    const result = validateBundle(pemBundle(key, cert));
    expect(errorRules(result)).toEqual(['ec-explicit-parameters']);
    expect(errors(result)[0]!.message).toMatch(/^block 1 \(the private key\) is an EC key with explicit curve parameters.*openssl ec -in key.pem -param_enc named_curve/);
  });

  it('checks the public key of certificates too (intermediates are checked without a private key)', () => {
    const { cert } = explicitCurveBundle();
    const finding = checkKeyStrength(new X509Certificate(cert).publicKey, 'the public key of block 3', 3);
    expect(finding.error).toMatchObject({ rule: 'ec-explicit-parameters', block: 3 });
  });
});
