/**
 * The port through which password hashing runs scrypt (domain/users/passwords.ts), and the error a
 * runner refuses work with. Here rather than in the domain so that the worker pool that implements
 * it (scrypt-workers.ts) knows nothing of kinbase.
 */

export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Computes scrypt keys. Rejects with HashingBusyError when it has too much work waiting. */
export interface ScryptRunner {
  derive(password: string, salt: Buffer, keyLength: number, cost: ScryptCost): Promise<Buffer>;
}

/** The runner refused a hash because too many already wait; the caller should retry shortly. */
export class HashingBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashingBusyError';
  }
}
