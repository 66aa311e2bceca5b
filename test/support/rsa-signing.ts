/**
 * Who did the RSA signing while some work ran: the signer pool's workers (their counter in
 * src/stores/objects/gcs/rsa-signer-pool.ts) or this thread, the event loop. Used to prove that GCS
 * URLs are signed off the loop, without timing anything.
 */
import crypto from 'node:crypto';
import { signaturesByWorkerThread } from '../../src/stores/objects/gcs/rsa-signer-pool';

export interface SigningDuring<T> {
  result: T;
  /** Signatures pool workers returned meanwhile, by worker thread id. */
  signedByWorker: Map<number, number>;
  /**
   * Calls of node:crypto's `sign` and `createSign` on this thread meanwhile: how anything signing
   * here would do it (our code through `sign`, the GCS library through `createSign`).
   */
  signedOnLoop: number;
}

/** Runs `work` with this thread's RSA signing entry points watched; restores them whatever happens. */
export async function signedInPoolDuring<T>(work: () => Promise<T>): Promise<SigningDuring<T>> {
  const before = signaturesByWorkerThread();
  const sign = jest.spyOn(crypto, 'sign');
  const createSign = jest.spyOn(crypto, 'createSign');
  let result: T;
  let signedOnLoop: number;
  try {
    result = await work();
  } finally {
    signedOnLoop = sign.mock.calls.length + createSign.mock.calls.length;
    sign.mockRestore();
    createSign.mockRestore();
  }
  const signedByWorker = new Map<number, number>();
  for (const [thread, count] of signaturesByWorkerThread()) {
    const delta = count - (before.get(thread) ?? 0);
    if (delta > 0) signedByWorker.set(thread, delta);
  }
  return { result, signedByWorker, signedOnLoop };
}
