/**
 * A store that cannot be used as configured (a bucket that does not exist or refuses the
 * credentials): the server prints the message as one plain line and exits. The message names what
 * was tried (bucket, endpoint, access key id), never a secret.
 */
export class StoreStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreStartError';
  }
}
