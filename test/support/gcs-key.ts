/**
 * Credentials and buckets for running the GCS adapter against fake-gcs-server: a freshly generated
 * service-account key (so V4 URLs are really RSA-signed) and one new bucket per test.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeTempDir } from './temp-dirs';

export const TEST_CLIENT_EMAIL = 'kinbase-test@kinbase-test.iam.gserviceaccount.com';

/**
 * Writes a service-account JSON with a new 2048-bit RSA key to a temp file and returns its path.
 * `token_uri` points at the emulator; the library never needs a token there (no auth on custom endpoints).
 * The file is a private key: remove it with removeServiceAccountKey; if the test does not, the
 * suite's afterAll (test/support/temp-cleanup.ts) does, and fails the suite if it cannot.
 */
export function writeServiceAccountKey(endpoint: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = {
    type: 'service_account',
    project_id: 'kinbase-test',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: TEST_CLIENT_EMAIL,
    client_id: '100000000000000000000',
    auth_uri: `${endpoint}/o/oauth2/auth`,
    token_uri: `${endpoint}/token`,
  };
  const file = path.join(makeTempDir('kinbase-gcs-key-'), 'service-account.json');
  writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  return file;
}

/** Removes a key file written by writeServiceAccountKey, with its dir. */
export function removeServiceAccountKey(file: string): void {
  removeTempDir(file);
}

/** Creates a bucket with a unique name on the emulator and returns the name. Throws if the emulator refuses. */
export async function createTestBucket(endpoint: string): Promise<string> {
  const name = `kinbase-test-${randomBytes(8).toString('hex')}`;
  const res = await fetch(`${endpoint}/storage/v1/b?project=kinbase-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!res.ok) throw new Error(`fake-gcs-server refused to create bucket ${name}: ${res.status} ${await res.text()}`);
  return name;
}
