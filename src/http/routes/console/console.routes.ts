/**
 * `/console`: the browser console's static files (built by console/build.js into dist/console).
 * The console is a client of the public REST API like any app; these routes only serve its files,
 * under a strict Content-Security-Policy: scripts and styles from this origin only, no inline
 * script, no framing, and network access only to kinbase and the object store's URLs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import type { StorageConfig } from '../../../config/load-config';

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  // Only a debugging build (`node console/build.js --source-map`) has one; `npm run build` does not.
  'app.js.map': 'application/json; charset=utf-8',
  'styles.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Origins the console's pages may fetch and show images from, besides its own. */
export function consoleOrigins(publicUrl: string, storage: StorageConfig): string[] {
  const origins = new Set<string>([new URL(publicUrl).origin]);
  if (storage.kind === 'gcs') origins.add(new URL(storage.apiEndpoint ?? 'https://storage.googleapis.com').origin);
  if (storage.kind === 's3') {
    // Downloads and public files come from the bucket (path-style or its own virtual host) or
    // S3_PUBLIC_URL; uploads go through kinbase itself.
    const endpoint = new URL(storage.endpoint ?? `https://s3.${storage.region}.amazonaws.com`);
    origins.add(storage.forcePathStyle ? endpoint.origin : `${endpoint.protocol}//${storage.bucket}.${endpoint.host}`);
    if (storage.publicUrl) origins.add(new URL(storage.publicUrl).origin);
  }
  return [...origins];
}

/** The Content-Security-Policy of every console file. */
export function consolePolicy(origins: readonly string[]): string {
  const extra = origins.join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' blob: data: ${extra}`,
    `connect-src 'self' ${extra}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Serves the console from `dir`. Files are read on first request and kept (they are small and
 * only change with a new build, which comes with a restart). A missing build answers 404 with
 * what to run.
 */
export function consoleRoutes(dir: string, origins: readonly string[]): Router {
  // strict: `/console` (redirected) and `/console/` (the page) are different routes.
  const router = Router({ strict: true });
  const policy = consolePolicy(origins);
  const cache = new Map<string, StaticFile | null>();

  const load = (name: string): StaticFile | null => {
    if (cache.has(name)) return cache.get(name) ?? null;
    let file: StaticFile | null = null;
    try {
      const body = readFileSync(path.join(dir, name));
      file = {
        body,
        type: FILES[name] as string,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      };
    } catch {
      file = null;
    }
    cache.set(name, file);
    return file;
  };

  const serve = (name: string, req: Request, res: Response): void => {
    res.setHeader('Content-Security-Policy', policy);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    const file = Object.hasOwn(FILES, name) ? load(name) : null;
    if (!file) {
      res
        .status(404)
        .type('text/plain')
        .send(
          name === 'index.html'
            ? 'The console is not built: run `npm run build` (npm start builds it when missing).\n'
            : 'Not found\n',
        );
      return;
    }
    // Revalidated on every load, so a new build is picked up at once; unchanged files cost a 304.
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', file.etag);
    if (req.get('if-none-match') === file.etag) {
      res.status(304).end();
      return;
    }
    res.status(200).type(file.type).send(file.body);
  };

  router.get('/console', (req, res) => {
    const query = req.originalUrl.indexOf('?');
    // Relative, so it holds behind a proxy that mounts kinbase under a path prefix.
    res.redirect(301, `console/${query >= 0 ? req.originalUrl.slice(query) : ''}`);
  });
  router.get('/console/', (req, res) => serve('index.html', req, res));
  router.get('/console/:file', (req, res) => serve(String(req.params.file), req, res));
  return router;
}
