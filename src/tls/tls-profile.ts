import type tls from 'node:tls';

export type TlsProfile = 'intermediate' | 'modern';
export const TLS_PROFILES: readonly TlsProfile[] = ['intermediate', 'modern'];

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
/** Mozilla "intermediate" TLS 1.2 suites without the DHE ones: forward secrecy and AEAD only, no CBC. */
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

/**
 * The one place that says which protocol versions and cipher suites hotcert offers (TLS_PROFILE).
 * Every SecureContext a listener serves is built with these: at listen and at every swap.
 */
export function tlsProfileOptions(profile: TlsProfile): Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers'> {
  if (profile === 'modern') return { minVersion: 'TLSv1.3', ciphers: TLS13_SUITES.join(':') };
  return { minVersion: 'TLSv1.2', ciphers: [...TLS13_SUITES, ...TLS12_SUITES].join(':') };
}
