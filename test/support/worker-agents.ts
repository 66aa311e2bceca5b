/**
 * Talking to one chosen worker of a kinbase cluster: node:cluster hands each new connection to the
 * next worker, and a keep-alive connection stays with the worker that accepted it. `pinnedAgents`
 * opens connections until it holds one per worker (each answer names its worker in
 * X-Kinbase-Worker); every request through `agents[i]` then reaches worker i, and `send` checks it.
 */
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  worker: string | undefined;
}

/** One HTTP request; `agent: false` opens a connection of its own (the next worker in turn). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: Agent | false },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            worker: res.headers['x-kinbase-worker'] as string | undefined,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // A connection node:cluster handed to a worker just as it died is never answered: give up on it.
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.end(options.body);
  });
}

/** One keep-alive agent per worker, `agents[i]` connected to worker i. Destroy them when done. */
export async function pinnedAgents(baseUrl: string, workers: number): Promise<Agent[]> {
  const agents: (Agent | undefined)[] = new Array<Agent | undefined>(workers);
  for (let attempt = 0; agents.includes(undefined) || agents.length < workers; attempt++) {
    if (attempt > 50) throw new Error('could not reach every worker over 50 connections');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answer = await send(`${baseUrl}/appdata/`, { agent });
    const index = Number(answer.worker);
    if (Number.isInteger(index) && index < workers && agents[index] === undefined) agents[index] = agent;
    else agent.destroy();
  }
  return agents as Agent[];
}
