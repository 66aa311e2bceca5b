/**
 * Image variant presets: the named sizes an app serves (`imageVariants` in its apps-file entry,
 * else DEFAULT_IMAGE_VARIANTS). Only these names are accepted on the wire, never a size: arbitrary
 * sizes would let any reader make the server render without bound (the resize DoS).
 */
import { createHash } from 'node:crypto';
import type { AppDefinition, ImageVariantPreset } from '../../apps/app-definition';
import { errors } from '../../errors';

export type { ImageVariantPreset };

/** What an app has without an `imageVariants` setting. */
export const DEFAULT_IMAGE_VARIANTS: Readonly<Record<string, ImageVariantPreset>> = Object.freeze({
  thumb: Object.freeze({ width: 128, height: 128, fit: 'cover', format: 'webp' }),
  medium: Object.freeze({ width: 800, fit: 'inside', format: 'webp' }),
});

/** At most this many names in one `kinveyfile_variants` (an app has at most 16 presets). */
const MAX_REQUESTED = 16;

const MIME_OF_FORMAT: Readonly<Record<ImageVariantPreset['format'], string>> = {
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  png: 'image/png',
  avif: 'image/avif',
};

/** The presets of an app, by name (a prototype-free map: names are read as own keys only). */
export function presetsOf(app: AppDefinition): ReadonlyMap<string, ImageVariantPreset> {
  return new Map(Object.entries(app.imageVariants ?? DEFAULT_IMAGE_VARIANTS));
}

/**
 * Parses `kinveyfile_variants` / `variant`: a comma-separated list of preset names of the app.
 * Absent or empty is no variants. Throws 400 ParameterValueOutOfRange naming the known presets
 * for an unknown name (or a value that is not one string).
 */
export function parseVariantNames(raw: unknown, name: string, app: AppDefinition): readonly string[] {
  if (raw === undefined || raw === '') return [];
  const presets = presetsOf(app);
  const known = () => [...presets.keys()].join(', ') || '(none)';
  if (typeof raw !== 'string' || raw.length > 1024)
    throw errors.parameterValueOutOfRange(`${name} must be a comma-separated list of: ${known()}.`);
  const names = [...new Set(raw.split(',').map((part) => part.trim()))];
  const unknown = names.find((part) => !presets.has(part));
  if (unknown !== undefined || names.length > MAX_REQUESTED)
    throw errors.parameterValueOutOfRange(
      `${name}: ${JSON.stringify((unknown ?? '').slice(0, 64))} is not an image variant of this app; known: ${known()}.`,
    );
  return names;
}

/** The MIME type of a preset's output. */
export function variantMimeType(preset: ImageVariantPreset): string {
  return MIME_OF_FORMAT[preset.format];
}

/**
 * A short digest of a preset's settings: part of the variant's object key, so changing a preset
 * in the config makes new variants instead of serving ones rendered for the old settings.
 */
export function presetDigest(preset: ImageVariantPreset): string {
  const canonical = JSON.stringify([
    preset.width ?? 0,
    preset.height ?? 0,
    preset.fit,
    preset.format,
    preset.quality ?? 0,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 10);
}

/**
 * The size of a preset's variant of a `width` x `height` image (orientation applied), decided
 * before any pixel is rendered (responses name it without waiting for the variant): `cover` and
 * `contain` give exactly the preset's box; `inside` scales down to fit it, never up.
 */
export function variantSize(
  preset: ImageVariantPreset,
  width: number,
  height: number,
): { width: number; height: number } {
  if (preset.fit !== 'inside' && preset.width && preset.height) return { width: preset.width, height: preset.height };
  const scale = Math.min(
    preset.width ? preset.width / width : Infinity,
    preset.height ? preset.height / height : Infinity,
    1,
  );
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
