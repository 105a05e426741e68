import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/cli/format.js';
import { validateBundle } from '../../src/validation/validate-bundle.js';
import { createRoot, issue, pemBundle } from '../helpers/pki.js';

describe('CLI report text', () => {
  it('names a certificate with an empty subject by its subjectAltName', async () => {
    const root = await createRoot();
    const intermediate = await issue(root, { isCa: true });
    const leaf = await issue(intermediate, { subject: '', sans: ['short.example.test'] });
    const result = validateBundle(pemBundle(leaf.keyPem, leaf.certPem, intermediate.certPem));
    if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
    const text = formatReport({ valid: true, errors: [], warnings: result.warnings, certificate: { ...result.bundle.certificate, chain: result.bundle.chain } });
    expect(text).toMatch(/^valid: SAN short\.example\.test \(EC-P256\), valid until /);
  });
});
