/**
 * The session types shared by the session store and its cache, in a file of their own so that
 * neither imports the other's module for them.
 */

/** Who a live session belongs to. */
export interface SessionOwner {
  readonly userId: string;
  readonly username: string;
}
