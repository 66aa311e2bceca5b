/**
 * What kinbase knows about a file's image, kept on its record in the server-only field
 * `_kinbaseImage` and always for one generation: the analysis of that generation's bytes (size
 * and ThumbHash, or `none` for bytes it will not decode) and which variants of it are stored.
 * A record whose generation moved on has no image info until the new bytes are analysed.
 */
import { isPlainObject } from '../../access/acl';
import { fileKeyPrefix } from '../file-keys';
import { generationOf, IMAGE_INFO_FIELD } from '../file-metadata';
import type { ImageVariantPreset } from './image-presets';
import { presetDigest } from './image-presets';

/** Server-only field of a file record: its image info (see StoredImageInfo). */
export const IMAGE_FIELD = IMAGE_INFO_FIELD;

export interface StoredImageInfo {
  /** The generation these facts describe. */
  generation: string;
  /** `ok`: decoded; `none`: not an image kinbase decodes (the reason went to the log). */
  status: 'ok' | 'none';
  width?: number;
  height?: number;
  thumbhash?: string;
  /** Stored variants by preset name: the preset digest they were rendered with, or `failed`. */
  variants?: Record<string, string>;
}

/** What `_placeholder` shows. */
export interface Placeholder {
  thumbhash: string;
  width: number;
  height: number;
}

/** The image info of the generation the record serves, or undefined (none yet, or stale). */
export function imageInfoOf(doc: Readonly<Record<string, unknown>>): StoredImageInfo | undefined {
  const info = doc[IMAGE_FIELD];
  const generation = generationOf(doc);
  if (!generation || !isPlainObject(info) || info.generation !== generation) return undefined;
  return info as unknown as StoredImageInfo;
}

/** The placeholder of a decoded image, else undefined. */
export function placeholderOf(doc: Readonly<Record<string, unknown>>): Placeholder | undefined {
  const info = imageInfoOf(doc);
  if (info?.status !== 'ok' || !info.thumbhash || !info.width || !info.height) return undefined;
  return { thumbhash: info.thumbhash, width: info.width, height: info.height };
}

/** Whether the variant of this preset is stored for the record's generation (own keys only). */
export function variantStored(info: StoredImageInfo, name: string, preset: ImageVariantPreset): boolean {
  const variants = isPlainObject(info.variants) ? info.variants : undefined;
  return !!variants && Object.hasOwn(variants, name) && variants[name] === presetDigest(preset);
}

/** Whether rendering this preset failed for the record's generation (it is not tried again). */
export function variantFailed(info: StoredImageInfo, name: string): boolean {
  const variants = isPlainObject(info.variants) ? info.variants : undefined;
  return !!variants && Object.hasOwn(variants, name) && variants[name] === 'failed';
}

/**
 * Where the variants of one generation live: `<file prefix>/v/<generation>`, beside the
 * generations (never a prefix of one), so deleting the file's prefix deletes them too.
 */
export function variantPrefixFor(appKey: string, fileId: string, generation: string): string {
  return `${fileKeyPrefix(appKey, fileId)}/v/${generation}`;
}

/** The object key of one variant: preset name and the digest of its settings. */
export function variantKeyFor(
  appKey: string,
  fileId: string,
  generation: string,
  name: string,
  preset: ImageVariantPreset,
): string {
  return `${variantPrefixFor(appKey, fileId, generation)}/${name}-${presetDigest(preset)}`;
}
