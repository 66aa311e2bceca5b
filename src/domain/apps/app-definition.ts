/**
 * An app as the domain sees it: its keys, its collections' settings and its Business Logic. The
 * configuration (config/load-config.ts) builds these from the apps file or the environment; the domain only
 * reads them, so the types live here and config re-exports them.
 */
import type { CollectionPermissions } from '../../../schemas/apps.schema';
import type { BusinessLogicConfig } from './business-logic-config';

export type { CollectionPermissions };

/** A group the environment file defines: created by the server at start if missing. */
export interface EnvironmentGroup {
  _id: string;
  name?: string;
  description?: string;
  /** Ids of nested groups. */
  groups: string[];
}

export interface CollectionSettings {
  /**
   * Absent: the collection's default, `shared` (what Kinvey gives a new collection, and kinbase one
   * the config does not list) or `private` for `_blob` (see collectionPermissions, filePermissions).
   */
  readonly permissions?: CollectionPermissions;
  /** Serve `_deltaset` and keep tombstones of deleted entities (off by default). */
  readonly deltaSet?: boolean;
  /** Fields to index beyond the ones kinbase always indexes (`_id`, the ACL fields, `_kmd.lmt`). */
  readonly indexes?: readonly string[];
}

/**
 * A named image variant size (`imageVariants` of an app): `cover` crops to exactly width x height,
 * `contain` letterboxes into it, `inside` scales down to fit (one of width/height may be absent).
 */
export interface ImageVariantPreset {
  readonly width?: number;
  readonly height?: number;
  readonly fit: 'cover' | 'inside' | 'contain';
  readonly format: 'webp' | 'jpeg' | 'png' | 'avif';
  /** Encoder quality 1-100; the encoder's default when absent. */
  readonly quality?: number;
}

export interface AppDefinition {
  readonly appKey: string;
  readonly appSecret: string;
  readonly masterSecret: string;
  readonly name: string;
  readonly collections: Readonly<Record<string, CollectionSettings>>;
  /** From the app's `environmentFile` (kinvey-cli's format); absent when it names none. */
  readonly businessLogic?: BusinessLogicConfig;
  /** The environment file's groups, created at start when missing. */
  readonly groups?: readonly EnvironmentGroup[];
  /** Image variant presets by name; absent: the defaults (thumb, medium; see image-presets.ts). */
  readonly imageVariants?: Readonly<Record<string, ImageVariantPreset>>;
}
