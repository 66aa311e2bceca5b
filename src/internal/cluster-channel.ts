/**
 * Messages from one worker of a cluster to all the others, relayed by the primary over node:cluster's
 * IPC channels (a few hundred microseconds end to end). Used where a worker's in-memory state must
 * follow a change another worker made, e.g. a session cache after a logout.
 */
import cluster, { type Worker } from 'node:cluster';

const TYPE = 'kinbase:channel';

interface Envelope {
  type: typeof TYPE;
  topic: string;
  payload: unknown;
}

/** Primary: passes every channel message a worker sends on to every other live worker. */
export function relayChannels(): void {
  cluster.on('message', (from: Worker, message: Envelope) => {
    if (message?.type !== TYPE) return;
    for (const worker of Object.values(cluster.workers ?? {}))
      if (worker && worker !== from && worker.isConnected()) worker.send(message);
  });
}

/**
 * Worker: calls `receive` with what the other workers send on `topic`, and returns the function
 * that sends to them (a no-op outside a cluster).
 */
export function clusterChannel<T>(topic: string, receive: (payload: T) => void): (payload: T) => void {
  process.on('message', (message: Envelope) => {
    if (message?.type === TYPE && message.topic === topic) receive(message.payload as T);
  });
  return (payload) => {
    if (process.connected) process.send?.({ type: TYPE, topic, payload } satisfies Envelope);
  };
}
