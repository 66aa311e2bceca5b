/**
 * What the Files API service takes and returns: the access context of a request, the service's
 * options, an upload ticket (a saved record plus where its bytes go) and a sweep's result.
 */
import type { AppDefinition, CollectionPermissions } from '../apps/app-definition';
import type { StoredDocument } from '../ports';
import type { Principal } from '../access/principal';
import type { ImageVariants } from './images/image-variants.service';

export interface FileContext {
  readonly appKey: string;
  /** The app itself (its image variant presets). */
  readonly app: AppDefinition;
  readonly principal: Principal;
  readonly permissions: CollectionPermissions;
  /**
   * The browser origin the request came from (a well-formed `Origin` header), if any: object
   * stores whose upload sessions answer CORS only for the origin that opened them (GCS) need it.
   */
  readonly origin?: string;
}

export interface FilesServiceOptions {
  uploadUrlTtlSeconds: number;
  pendingUploadTtlSeconds: number;
  /** The apps whose pending uploads the sweeper visits. */
  appKeys: () => Iterable<string>;
  clock?: () => Date;
  /** Stamps `_kmd.lmt` (the app's MonotonicClock: every lmt comes from one clock); `clock` by default. */
  stampWrite?: () => Date;
  /** Told when a reference read could not check a pending upload and showed the stored record. */
  warn?: Warn;
  /** Placeholders and variants of image files; without it files have neither. */
  images?: ImageVariants;
  /** Told about every check of a pending upload against the object store, and what it found. */
  pendingUploadChecked?: (outcome: 'arrived' | 'waiting' | 'rejected' | 'failed') => void;
}

/** Where the domain reports what it worked around (the app logs it at `warn`). */
export type Warn = (context: Record<string, unknown>, message: string) => void;

/** A saved metadata record (as clients see it) plus where to upload its bytes. */
export interface UploadTicket {
  file: StoredDocument;
  uploadUrl: string;
  expiresAt: Date;
  requiredHeaders: Record<string, string>;
  created: boolean;
}

export interface SweepResult {
  /** Pending uploads whose bytes had in fact arrived. */
  completed: number;
  /** Re-uploads that never finished: the record is back to the previous, still stored bytes. */
  reverted: number;
  /** Files whose bytes never arrived (or were rejected): record and bytes removed. */
  removed: number;
}
