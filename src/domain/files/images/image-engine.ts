/**
 * The port of the image decoder (implemented with sharp in stores/images/): what the domain asks
 * of it, and the limits every implementation holds. Inputs are whole byte buffers the caller
 * already capped at MAX_IMAGE_INPUT_BYTES; the engine refuses anything else it will not decode.
 */
import type { ImageVariantPreset } from '../../apps/app-definition';

/** Inputs larger than this are not decoded (no placeholder, no variants): 32 MiB. */
export const MAX_IMAGE_INPUT_BYTES = 32 * 1024 * 1024;
/** Images declaring more pixels than this are not decoded (decompression bombs): 50 megapixels. */
export const MAX_IMAGE_INPUT_PIXELS = 50_000_000;

/** The container formats kinbase decodes; nothing else (no SVG, PDF, TIFF, RAW...) is ever parsed. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'heif';

/** What a decoded image gives a file record: its displayed size (EXIF orientation applied) and ThumbHash. */
export interface ImageAnalysis {
  width: number;
  height: number;
  /** The ThumbHash, base64. */
  thumbhash: string;
}

/** Thrown by an engine for an input it will not or cannot decode; `reason` is for the log. */
export class ImageRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ImageRejected';
  }
}

export interface ImageEngine {
  /**
   * Decodes `bytes` (of the format `format`, already sniffed) and returns its size and ThumbHash.
   * Throws ImageRejected for a bomb, a truncated or corrupt image or one of another format.
   */
  analyse(bytes: Buffer, format: ImageFormat): Promise<ImageAnalysis>;
  /**
   * Renders the variant of `bytes` at exactly `size` (see variantSize), EXIF orientation applied,
   * every metadata stripped (GPS, camera, comments, ICC profile converted to sRGB), first frame only.
   * Throws ImageRejected as analyse does.
   */
  render(
    bytes: Buffer,
    format: ImageFormat,
    preset: ImageVariantPreset,
    size: { width: number; height: number },
  ): Promise<Buffer>;
}

/**
 * The format of `bytes` by its signature, when it is one kinbase decodes and the declared MIME type
 * names the same format; else null (a `.png` that is really an SVG, a PDF called image/jpeg).
 */
export function sniffImageFormat(bytes: Buffer, mimeType: unknown): ImageFormat | null {
  const declared = typeof mimeType === 'string' ? mimeType.split(';')[0]?.trim().toLowerCase() : undefined;
  const format = signatureOf(bytes);
  if (!format || !declared) return null;
  const accepted: Record<ImageFormat, readonly string[]> = {
    jpeg: ['image/jpeg', 'image/jpg', 'image/pjpeg'],
    png: ['image/png'],
    webp: ['image/webp'],
    gif: ['image/gif'],
    heif: ['image/avif', 'image/heif', 'image/heic'],
  };
  return accepted[format].includes(declared) ? format : null;
}

/** Whether a declared MIME type could be an image kinbase decodes (worth reading the bytes of). */
export function mayBeDecodableImage(mimeType: unknown): boolean {
  return typeof mimeType === 'string' && /^image\/(jpeg|jpg|pjpeg|png|webp|gif|avif|heif|heic)\s*(;|$)/i.test(mimeType);
}

function signatureOf(b: Buffer): ImageFormat | null {
  if (b.length < 12) return null;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (b.toString('latin1', 0, 4) === 'GIF8') return 'gif';
  if (b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (
    b.toString('latin1', 4, 8) === 'ftyp' &&
    /^(avif|avis|heic|heix|heim|heis|mif1|msf1)$/.test(b.toString('latin1', 8, 12))
  )
    return 'heif';
  return null;
}
