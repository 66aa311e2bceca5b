/**
 * Builds a real kinbase app for integration tests: real document store (embedded in a temp dir, or
 * MongoDB/FerretDB from globalSetup), real local-disk object store served over real HTTP, and a
 * fresh app key per call, so tests never share data or depend on order.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Express } from 'express';
import { readFileSync } from 'node:fs';
import { createApp } from '../../src/app';
import { buildRuntime, type Runtime } from '../../src/runtime';
import { createObjectStore, type OpenedObjectStore } from '../../src/stores';
import { loadEnvironmentFile } from '../../src/config/environment-file';
import type { BusinessLogicRuntime } from '../../src/business-logic/runtime';
import type { Sandbox } from '../../src/business-logic/sandbox/sandbox';
import type { FlexServiceSpec } from '../../src/business-logic/types';
import { loadConfig, type AppDefinition, type CollectionPermissions, type Config } from '../../src/config/load-config';
import { AppRegistry } from '../../src/domain/apps/app-registry';
import type { AccountSettings } from '../../src/domain/apps/app-definition';
import type { DocumentStore, ObjectStore } from '../../src/domain/ports';
import { EmbeddedDocumentStore } from '../../src/stores/documents/embedded/embedded.document-store';
import { MongoDocumentStore } from '../../src/stores/documents/mongodb/mongo.document-store';
import { GcsObjectStore } from '../../src/stores/objects/gcs/gcs.object-store';
import type { Clock } from '../../src/internal/clock';
import { createTestBucket, removeServiceAccountKey, writeServiceAccountKey } from './gcs-key';
import { createTestS3Bucket, TEST_S3_CREDENTIALS, testS3Endpoint } from './versitygw';

export type DocumentsKind = 'embedded' | 'mongodb';

export interface TestApp {
  app: Express;
  /** The app's credentials and Authorization header values. */
  appKey: string;
  appSecret: string;
  masterSecret: string;
  appAuth: string;
  masterAuth: string;
  /** Base URL of the real HTTP server (storage URLs point here). */
  baseUrl: string;
  config: Config;
  documents: DocumentStore;
  objects: ObjectStore;
  businessLogic: BusinessLogicRuntime;
  /** The sandbox running the app's internal Business Logic (its isolate pools' stats). */
  sandbox: Sandbox;
  /** The app as the server has it (with its environment file's Business Logic and groups). */
  definition: AppDefinition;
  /** Every service the app runs on, built as the server builds them (not started: no scheduler, no sweeper). */
  runtime: Runtime;
  /** Stops the server and closes the runtime: stores, isolates, scrypt and MD5 workers. */
  close: () => Promise<void>;
}

export interface TestAppOptions {
  documents?: DocumentsKind;
  collections?: Record<string, { permissions: CollectionPermissions; deltaSet?: boolean }>;
  /** The app's image variant presets (`imageVariants`); the defaults when absent. */
  imageVariants?: AppDefinition['imageVariants'];
  env?: Record<string, string>;
  /** The document store's cap on one answer (default 32 MiB), lowered to reach it with little data. */
  maxResultBytes?: number;
  /** Wraps the document store (e.g. to count queries). */
  wrapDocuments?: (store: DocumentStore) => DocumentStore;
  /** Where the app logs (silent by default). */
  logger?: Logger;
  /**
   * Object backend: local disk (default), GcsObjectStore on the fake-gcs-server from globalSetup,
   * or S3ObjectStore on a fresh bucket of the versitygw from globalSetup (its upload route served).
   */
  objects?: 'local' | 'gcs' | 's3';
  /**
   * The public URL kinbase puts in links, from the real server's http URL (default: that URL),
   * e.g. an https origin as behind a TLS-terminating proxy. Tests still reach it at `baseUrl`.
   */
  publicUrl?: (baseUrl: string) => string;
  /** With `objects: 'gcs'`: a fake-gcs-server of the test's own (one it may stop) instead of globalSetup's. */
  gcsEndpoint?: string;
  /** With `objects: 'gcs'`: the credentials file (default: a fresh service-account key). */
  gcsKeyFile?: string;
  /**
   * The app's clock (sessions, throttles, TOTP steps, signed-URL expiry in the object store and
   * its cache); the wall clock by default. A TestClock's `now` lets a test move time on.
   */
  clock?: Clock;
  /**
   * Business Logic: a kinvey-cli environment file (loaded by the real loader; a problem in it
   * fails the start) and the app's Flex services.
   */
  environment?: { file: string; flexServices?: Record<string, FlexServiceSpec> };
  /** The app's name (default "Test App"): account mails and pages show it. */
  appName?: string;
  /** The account settings an environment file's `settings` would give (verification, reset page). */
  accounts?: AccountSettings;
  /** The apps file's `mailTemplates`. */
  mailTemplates?: AppDefinition['mailTemplates'];
}

export const basic = (user: string, secret: string): string =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

export function uniqueKey(prefix = 'kid'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kinbase-test-'));
  let definition: AppDefinition = {
    appKey: uniqueKey(),
    appSecret: randomBytes(12).toString('hex'),
    masterSecret: randomBytes(12).toString('hex'),
    name: options.appName ?? 'Test App',
    collections: options.collections ?? {},
    ...(options.accounts ? { accounts: options.accounts } : {}),
    ...(options.mailTemplates ? { mailTemplates: options.mailTemplates } : {}),
    ...(options.imageVariants ? { imageVariants: options.imageVariants } : {}),
  };
  if (options.environment) definition = withEnvironment(definition, options.environment);

  // Listen first so the public URL is known before the object store is built.
  const { createServer } = await import('node:http');
  const holder: { handler?: Express } = {};
  const server: Server = createServer((req, res) => (holder.handler ? holder.handler(req, res) : res.end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const baseUrl = `http://127.0.0.1:${port}`;

  const publicUrl = options.publicUrl ? options.publicUrl(baseUrl) : baseUrl;
  const config = loadConfig({
    KINBASE_DATA_DIR: dataDir,
    KINBASE_PUBLIC_URL: publicUrl,
    PORT: String(port),
    KINBASE_LOG_LEVEL: 'silent',
    ...options.env,
  });
  const kind = options.documents ?? 'embedded';
  let documents: DocumentStore;
  if (kind === 'mongodb') {
    const url = process.env.KINBASE_TEST_MONGODB_URL;
    if (!url) throw new Error('KINBASE_TEST_MONGODB_URL is not set: the jest globalSetup did not start FerretDB');
    documents = await MongoDocumentStore.connect({
      url,
      dbPrefix: `t${randomBytes(3).toString('hex')}_`,
      maxResultBytes: options.maxResultBytes,
    });
  } else {
    documents = new EmbeddedDocumentStore({
      dir: path.join(dataDir, 'documents'),
      maxResultBytes: options.maxResultBytes,
    });
  }
  if (options.wrapDocuments) documents = options.wrapDocuments(documents);
  let objects: OpenedObjectStore;
  // A key this app generated is its own to remove on close; a key the test passed in is the test's.
  let ownKeyFile: string | undefined;
  if (options.objects === 'gcs') {
    const endpoint = gcsEndpointOf(options);
    const keyFile = options.gcsKeyFile ?? writeServiceAccountKey(endpoint);
    if (!options.gcsKeyFile) ownKeyFile = keyFile;
    objects = { store: await openFakeGcsStore(endpoint, keyFile, options.clock) };
  } else if (options.objects === 's3') {
    const endpoint = testS3Endpoint();
    objects = await createObjectStore(
      {
        kind: 's3',
        bucket: await createTestS3Bucket(endpoint),
        endpoint,
        region: TEST_S3_CREDENTIALS.region,
        accessKeyId: TEST_S3_CREDENTIALS.accessKeyId,
        secretAccessKey: TEST_S3_CREDENTIALS.secretAccessKey,
        forcePathStyle: true,
      },
      {
        dataDir,
        publicUrl,
        signingSecret: randomBytes(32).toString('hex'),
        ...(options.clock ? { clock: options.clock } : {}),
      },
    );
  } else {
    objects = await createObjectStore(
      { kind: 'local' },
      {
        dataDir,
        publicUrl,
        signingSecret: randomBytes(32).toString('hex'),
        ...(options.clock ? { clock: options.clock } : {}),
      },
    );
  }
  const logger = options.logger ?? pino({ level: 'silent' });
  // Business Logic limits come from the config (KINBASE_BL_* in options.env), as on the server.
  const runtime = buildRuntime({
    config,
    apps: new AppRegistry([definition]),
    documents,
    objects,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app = createApp(runtime);
  holder.handler = app;

  return {
    app,
    appKey: definition.appKey,
    appSecret: definition.appSecret,
    masterSecret: definition.masterSecret,
    appAuth: basic(definition.appKey, definition.appSecret),
    masterAuth: basic(definition.appKey, definition.masterSecret),
    baseUrl,
    config,
    documents,
    objects: objects.store,
    businessLogic: runtime.businessLogic,
    sandbox: runtime.sandbox,
    definition,
    runtime,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await rm(dataDir, { recursive: true, force: true });
      if (ownKeyFile) removeServiceAccountKey(ownKeyFile);
    },
  };
}

/** The app with its environment file loaded by the real loader; any problem fails the test loudly. */
function withEnvironment(app: AppDefinition, environment: NonNullable<TestAppOptions['environment']>): AppDefinition {
  const problems: string[] = [];
  const loaded = loadEnvironmentFile(
    environment.file,
    { readFile: (f) => readFileSync(f, 'utf8'), flexServices: environment.flexServices ?? {}, source: 'test app' },
    problems,
    [],
  );
  if (!loaded || problems.length > 0)
    throw new Error(`the test's environment file has problems:\n  ${problems.join('\n  ')}`);
  return {
    ...app,
    collections: { ...loaded.collections, ...app.collections },
    businessLogic: loaded.businessLogic,
    groups: loaded.groups,
    accounts: loaded.accounts,
  };
}

/** The fake-gcs-server to use: the test's own, else globalSetup's; throws if there is none (never skipped). */
function gcsEndpointOf(options: TestAppOptions): string {
  const endpoint = options.gcsEndpoint ?? process.env.KINBASE_TEST_GCS_ENDPOINT;
  if (!endpoint)
    throw new Error('KINBASE_TEST_GCS_ENDPOINT is not set: the jest globalSetup did not start fake-gcs-server');
  return endpoint;
}

/** A GcsObjectStore on a fresh bucket of that fake-gcs-server. */
async function openFakeGcsStore(endpoint: string, keyFile: string, clock: Clock | undefined): Promise<ObjectStore> {
  return GcsObjectStore.create({
    bucket: await createTestBucket(endpoint),
    keyFile,
    apiEndpoint: endpoint,
    ...(clock ? { clock } : {}),
  });
}

/** Both document stores, for suites that must behave identically on each. */
export const DOCUMENT_STORES: DocumentsKind[] = ['embedded', 'mongodb'];
