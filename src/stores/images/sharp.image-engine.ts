/**
 * The ImageEngine on sharp (libvips, prebuilt, no compiler). libvips runs in libuv's thread pool,
 * never on the event loop; the caller gates how many images decode at once.
 *
 * Hardening, process-wide and set once on load: every libvips loader is blocked except the
 * JPEG, PNG, WebP, GIF and HEIF/AVIF buffer loaders (so SVG, PDF, TIFF, RAW, matrix... are never
 * parsed, whatever the bytes), libvips' operation cache is off (no memory kept between images),
 * inputs over MAX_IMAGE_INPUT_PIXELS are refused from their header, any decoder warning fails
 * the image (a truncated file is rejected, not half-rendered), and every job has a timeout.
 */
import sharp, { type FormatEnum, type Metadata, type Sharp } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import type { ImageVariantPreset } from '../../domain/apps/app-definition';
import {
  ImageRejected,
  MAX_IMAGE_INPUT_PIXELS,
  type ImageAnalysis,
  type ImageEngine,
  type ImageFormat,
} from '../../domain/files/images/image-engine';

const ALLOWED_LOADERS = [
  'VipsForeignLoadJpegBuffer',
  'VipsForeignLoadPngBuffer',
  'VipsForeignLoadWebpBuffer',
  'VipsForeignLoadGifBuffer',
  'VipsForeignLoadHeifBuffer',
];
sharp.block({ operation: ['VipsForeignLoad'] });
sharp.unblock({ operation: ALLOWED_LOADERS });
sharp.cache(false);
// One libvips thread per image: the gate (half the cores) then bounds the CPU images take, leaving the rest to requests.
sharp.concurrency(1);

/** Seconds one decode or render may take before libvips abandons it. */
const JOB_TIMEOUT_SECONDS = 20;
/** ThumbHash encodes at most 100 x 100 pixels. */
const THUMBHASH_BOX = 100;

const SHARP_FORMAT: Record<ImageFormat, keyof FormatEnum> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  heif: 'heif',
};

export class SharpImageEngine implements ImageEngine {
  async analyse(bytes: Buffer, format: ImageFormat): Promise<ImageAnalysis> {
    const image = open(bytes);
    const meta = await guard(image.metadata());
    if (meta.format !== SHARP_FORMAT[format] && !(format === 'heif' && meta.format === 'heif'))
      throw new ImageRejected(`the bytes decode as ${meta.format ?? 'nothing'}, not ${format}`);
    const { width, height } = orientedSize(meta);
    const { data, info } = await guard(
      open(bytes)
        .autoOrient()
        .resize(THUMBHASH_BOX, THUMBHASH_BOX, { fit: 'inside' })
        .ensureAlpha()
        .raw()
        .timeout({ seconds: JOB_TIMEOUT_SECONDS })
        .toBuffer({ resolveWithObject: true }),
    );
    const hash = rgbaToThumbHash(info.width, info.height, data);
    return { width, height, thumbhash: Buffer.from(hash).toString('base64') };
  }

  async render(
    bytes: Buffer,
    _format: ImageFormat,
    preset: ImageVariantPreset,
    size: { width: number; height: number },
  ): Promise<Buffer> {
    // `inside` sizes were computed from the oriented size (variantSize): `fill` hits them exactly.
    const fit = preset.fit === 'inside' ? 'fill' : preset.fit;
    const background = preset.format === 'jpeg' ? '#ffffff' : { r: 0, g: 0, b: 0, alpha: 0 };
    const quality = preset.quality !== undefined ? { quality: preset.quality } : {};
    // No withMetadata(): sharp writes no EXIF, XMP, IPTC or comment, and converts to sRGB.
    return guard(
      open(bytes)
        .autoOrient()
        .resize(size.width, size.height, { fit, background })
        .toFormat(preset.format, quality)
        .timeout({ seconds: JOB_TIMEOUT_SECONDS })
        .toBuffer(),
    );
  }
}

function open(bytes: Buffer): Sharp {
  return sharp(bytes, {
    limitInputPixels: MAX_IMAGE_INPUT_PIXELS,
    failOn: 'warning',
    pages: 1,
    sequentialRead: true,
  });
}

/** The displayed size: EXIF orientations 5-8 turn the image a quarter. */
function orientedSize(meta: Metadata): { width: number; height: number } {
  if (!meta.width || !meta.height) throw new ImageRejected('the image declares no size');
  if (meta.width * meta.height > MAX_IMAGE_INPUT_PIXELS)
    throw new ImageRejected(`the image declares ${meta.width} x ${meta.height} pixels`);
  const turned = (meta.orientation ?? 1) >= 5;
  return turned ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/** Every sharp failure (corrupt, truncated, over the pixel limit, timeout) becomes ImageRejected. */
async function guard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof ImageRejected) throw err;
    throw new ImageRejected((err as Error).message.slice(0, 200));
  }
}
