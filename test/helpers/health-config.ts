/** A probe's health settings for unit tests: the URL, and the defaults a config would give. */
import type { HealthConfig } from '../../src/config/schema.js';

export function healthConfig(url: string, patch: Partial<HealthConfig> = {}): HealthConfig {
  return { url, timeoutMs: 2000, intervalMs: 5000, failureThreshold: 3, expectStatus: [200], maxBodyBytes: 64 * 1024, followRedirects: false, ...patch };
}
