/**
 * Which external services this test run has; set by scripts/test.mjs after probing.
 * A test file that needs one calls `skipUnless('mariadb')` in its options: skipped with the reason when
 * the service is absent (scripts/test.mjs already refuses to run with a missing service under ONAIR_TEST_REQUIRE=all).
 */
export type Service = 'mariadb' | 'redis' | 'chromium' | 'ffmpeg' | 'coturn' | 'registry';

const available = new Set((process.env.ONAIR_TEST_SERVICES ?? '').split(',').filter(Boolean));

export function has(service: Service): boolean {
  return available.has(service);
}

export function skipUnless(...services: Service[]): string | false {
  const missing = services.filter((s) => !has(s));
  return missing.length ? `needs ${missing.join(', ')}` : false;
}
