/**
 * The RSA signer pool (real worker threads) and the GCS adapter's RSA path through it: signatures
 * verify with the public key, 1,000 URLs never stall the event loop, idle workers never keep a
 * process alive, and close() ends everything.
 */
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { transpileFile } from '../support/transpile';
import { buildCanonicalRequest, buildStringToSign, type V4UrlInput } from '../../src/stores/objects/gcs-v4-signer';
import { GcsObjectStore } from '../../src/stores/objects/gcs.object-store';
import { RsaSignerPool } from '../../src/stores/objects/rsa-signer-pool';
import { TEST_CLIENT_EMAIL, writeServiceAccountKey } from '../support/gcs-key';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const verifies = (data: string, hex: string, key = publicKey): boolean => verify('sha256', Buffer.from(data, 'utf8'), key, Buffer.from(hex, 'hex'));

describe('RsaSignerPool', () => {
  test('signatures are RSA-SHA256 over the UTF-8 data, hex, and each answer belongs to its request', async () => {
    const pool = new RsaSignerPool({ privateKeyPem: pem, size: 2 });
    try {
      const data = Array.from({ length: 200 }, (_, i) => `string to sign #${i} ü 名前`);
      const signatures = await Promise.all(data.map((d) => pool.sign(d)));
      signatures.forEach((sig, i) => {
        expect(sig).toMatch(/^[0-9a-f]{512}$/);
        expect(verifies(data[i]!, sig)).toBe(true);
      });
      expect(verifies(data[1]!, signatures[0]!)).toBe(false);
    } finally {
      await pool.close();
    }
  });

  test('an invalid key is refused at construction', () => {
    expect(() => new RsaSignerPool({ privateKeyPem: 'not a key' })).toThrow();
  });

  test('close() rejects what is still queued and every later sign()', async () => {
    const pool = new RsaSignerPool({ privateKeyPem: pem, size: 1 });
    const pending = Array.from({ length: 500 }, (_, i) => pool.sign(String(i)).then(() => 'signed', (err: Error) => err.message));
    await pool.close();
    const outcomes = await Promise.all(pending);
    expect(outcomes).toContain('RSA signer pool is closed');
    await expect(pool.sign('late')).rejects.toThrow(/closed/);
    await expect(pool.close()).resolves.toBeUndefined();
  });

  test('idle workers never keep the process alive', async () => {
    // Run the real pool module (compiled as the build would) in a child that signs once and never closes it.
    const dir = mkdtempSync(path.join(tmpdir(), 'kinbase-pool-'));
    const source = path.resolve(__dirname, '../../src/stores/objects/rsa-signer-pool.ts');
    writeFileSync(path.join(dir, 'rsa-signer-pool.js'), transpileFile(source));
    writeFileSync(path.join(dir, 'key.pem'), pem);
    writeFileSync(path.join(dir, 'main.js'), `
      const { RsaSignerPool } = require('./rsa-signer-pool.js');
      const pool = new RsaSignerPool({ privateKeyPem: require('node:fs').readFileSync(__dirname + '/key.pem', 'utf8') });
      pool.sign('hello').then((sig) => console.log(sig));
    `);
    const started = Date.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [path.join(dir, 'main.js')], { timeout: 10_000 }, (err, out) => (err ? reject(err) : resolve(out)));
    });
    expect(verifies('hello', stdout.trim())).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('GCS adapter RSA signing in workers', () => {
  test('1,000 download URLs never stall the event loop by 50 ms, and each is a valid V4 URL for its object', async () => {
    const keyFile = writeServiceAccountKey('https://oauth2.googleapis.com');
    const key = JSON.parse(readFileSync(keyFile, 'utf8')) as { private_key: string };
    const accountKey = createPublicKey(key.private_key);
    const store = await GcsObjectStore.create({ bucket: 'kinbase-bench', keyFile });
    try {
      // Warm-up: starts the workers (thread start-up is a one-off, not per request).
      await store.signDownloadUrl('kid_warm/up', { expiresAt: new Date(Date.now() + 60_000), https: true });
      const keys = Array.from({ length: 1000 }, (_, i) => `kid_app/${String(i).padStart(4, '0')}-${'f'.repeat(40)}`);
      const expiresAt = new Date(Date.now() + 3_600_000);
      // Signing on the event loop would stall it for ~1 s (1,000 x ~1 ms of RSA). Off the loop the
      // stall stays under 50 ms; a machine busy with other work can preempt the loop thread on its
      // own, so the 50 ms goal must hold in one of three runs, and no run may come near 1 s.
      const runs: Array<{ maxDelayMs: number; elapsedMs: number }> = [];
      let urls: string[] = [];
      while (runs.length < 3 && !runs.some((r) => r.maxDelayMs < 50)) {
        const histogram = monitorEventLoopDelay({ resolution: 5 });
        histogram.enable();
        const started = process.hrtime.bigint();
        urls = await Promise.all(keys.map((k) => store.signDownloadUrl(k, { expiresAt, https: true })));
        runs.push({ elapsedMs: Number(process.hrtime.bigint() - started) / 1e6, maxDelayMs: histogram.max / 1e6 });
        histogram.disable();
      }
      // Visible in the test output: the measured behaviour, not only pass/fail.
      console.log(runs.map((r) => `1,000 RSA URLs in ${r.elapsedMs.toFixed(0)} ms (${(r.elapsedMs / 1000).toFixed(2)} ms/URL), max event-loop delay ${r.maxDelayMs.toFixed(1)} ms`).join('\n'));
      expect(Math.min(...runs.map((r) => r.maxDelayMs))).toBeLessThan(50);
      expect(Math.max(...runs.map((r) => r.maxDelayMs))).toBeLessThan(250);

      urls.forEach((raw, i) => {
        const url = new URL(raw);
        expect(`${url.origin}${url.pathname}`).toBe(`https://storage.googleapis.com/kinbase-bench/${keys[i]}`);
        const p = Object.fromEntries(url.searchParams);
        expect(p['X-Goog-Algorithm']).toBe('GOOG4-RSA-SHA256');
        expect(p['X-Goog-Credential']).toMatch(new RegExp(`^${TEST_CLIENT_EMAIL}/\\d{8}/auto/storage/goog4_request$`));
        expect(p['X-Goog-SignedHeaders']).toBe('host');
        const signedAt = p['X-Goog-Date']!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
        expect(Number(p['X-Goog-Expires'])).toBe(Math.floor(expiresAt.getTime() / 1000) - Date.parse(signedAt) / 1000);
        // The signature must verify with the service account's key over the string-to-sign for
        // exactly this object and these parameters (the builder is proven against the library).
        const input: V4UrlInput = {
          algorithm: 'GOOG4-RSA-SHA256', method: 'GET', endpoint: 'https://storage.googleapis.com', bucket: 'kinbase-bench',
          objectName: keys[i]!, accessId: TEST_CLIENT_EMAIL, signedAt: new Date(signedAt), expiresInSeconds: Number(p['X-Goog-Expires']),
        };
        expect(verifies(buildStringToSign(input, buildCanonicalRequest(input)), p['X-Goog-Signature']!, accountKey)).toBe(true);
        if (i === 0) expect(verifies(buildStringToSign(input, buildCanonicalRequest({ ...input, objectName: keys[1]! })), p['X-Goog-Signature']!, accountKey)).toBe(false);
      });
    } finally {
      await store.close();
    }
  });
});
