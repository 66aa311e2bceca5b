/**
 * A round-robin TCP load balancer for the several-instances suites: each client connection goes
 * to the next backend in turn; a backend that refuses the connection (stopped, draining) is
 * skipped for the next one, as HAProxy's `option redispatch` does. Backends can be taken out of
 * the rotation (what a failing /readyz makes a real balancer do).
 */
import net from 'node:net';

export interface RoundRobinProxy {
  readonly url: string;
  readonly port: number;
  /** Backend ports in rotation. */
  backends: number[];
  /** Connections handed to each backend port so far. */
  readonly handedOut: Map<number, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backends: number[]): Promise<RoundRobinProxy> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const handedOut = new Map<number, number>();
  const proxy: { backends: number[] } = { backends: [...backends] };

  const connect = (client: net.Socket, tries: number): void => {
    const list = proxy.backends;
    if (tries >= list.length || list.length === 0) {
      client.destroy();
      return;
    }
    const port = list[next++ % list.length]!;
    const upstream = net.connect({ host: '127.0.0.1', port });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      handedOut.set(port, (handedOut.get(port) ?? 0) + 1);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) connect(client, tries + 1);
      else client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => connected && client.destroy());
  };

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    connect(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get backends() {
      return proxy.backends;
    },
    set backends(value: number[]) {
      proxy.backends = [...value];
    },
    handedOut,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
