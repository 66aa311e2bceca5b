/**
 * Several kinbase instances (the built server, as child processes) on one document store and one
 * bucket, behind the round-robin proxy: what a deployment behind a load balancer looks like. Each
 * instance has its own data dir; they share the apps file, the MongoDB URL and the bucket, and
 * hand out the proxy's URL as their public URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRoundRobinProxy, type RoundRobinProxy } from './round-robin-proxy';
import { startServerProcess, type ServerProcess } from './server-process';
import { createTestBucket, removeServiceAccountKey, writeServiceAccountKey } from './gcs-key';

export interface ClusterApp {
  readonly appKey: string;
  readonly appSecret: string;
  readonly masterSecret: string;
  readonly name?: string;
  readonly collections?: Record<string, unknown>;
}

export interface Cluster {
  readonly proxy: RoundRobinProxy;
  readonly instances: ServerProcess[];
  /** Starts one more instance with the same settings and puts it in the rotation. */
  addInstance(): Promise<ServerProcess>;
  stop(): Promise<void>;
}

export async function startCluster(options: {
  size: number;
  apps: readonly ClusterApp[];
  mongoUrl: string;
  /** The fake-gcs-server the instances reach (possibly through a fault proxy). */
  gcsEndpoint: string;
  /** Where the bucket is created, when the instances reach the emulator through a proxy. */
  gcsAdminEndpoint?: string;
  env?: Record<string, string>;
}): Promise<Cluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kinbase-cluster-'));
  const appsFile = path.join(dir, 'apps.json');
  await writeFile(appsFile, JSON.stringify(options.apps));
  const keyFile = writeServiceAccountKey(options.gcsEndpoint);
  const bucket = await createTestBucket(options.gcsAdminEndpoint ?? options.gcsEndpoint);
  const proxy = await startRoundRobinProxy([]);
  const dbPrefix = `cluster_${randomBytes(3).toString('hex')}_`;
  const instances: ServerProcess[] = [];
  const addInstance = async (): Promise<ServerProcess> => {
    const dataDir = await mkdtemp(path.join(dir, 'instance-'));
    const instance = await startServerProcess({
      KINBASE_PUBLIC_URL: proxy.url,
      KINBASE_DATA_DIR: dataDir,
      KINBASE_APPS_FILE: appsFile,
      MONGODB_URL: options.mongoUrl,
      MONGODB_DB_PREFIX: dbPrefix,
      KINBASE_STORAGE: 'gcs',
      GCS_BUCKET: bucket,
      GCS_KEY_FILE: keyFile,
      GCS_API_ENDPOINT: options.gcsEndpoint,
      ...options.env,
    });
    instances.push(instance);
    proxy.backends = [...proxy.backends, portOf(instance)];
    return instance;
  };
  try {
    await Promise.all(Array.from({ length: options.size }, addInstance));
  } catch (err) {
    await Promise.all(instances.map((i) => i.stop('SIGKILL')));
    await proxy.close();
    throw err;
  }
  return {
    proxy,
    instances,
    addInstance,
    stop: async () => {
      await Promise.all(instances.map((i) => i.stop('SIGKILL')));
      await proxy.close();
      removeServiceAccountKey(keyFile);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function portOf(instance: ServerProcess): number {
  return Number(new URL(instance.baseUrl).port);
}
