import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy the test controls, in front of PostgreSQL: it forwards every connection until
 * told to freeze the first one whose client sends some bytes (e.g. `FOR UPDATE`). That
 * connection then goes silent both ways right after forwarding them, and its closing is
 * not passed on: to both ends, the network froze mid-transaction. Other connections pass.
 */
export class FreezingProxy {
  private trigger: Buffer | null = null;
  private readonly sockets = new Set<Socket>();
  /** Connections frozen so far. */
  frozen = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<FreezingProxy> {
    let proxy: FreezingProxy | null = null;
    const server = createServer((client) => proxy!.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FreezingProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  /** The next connection whose client sends `pattern` freezes just after it is forwarded. */
  freezeOnce(pattern: string): void {
    this.trigger = Buffer.from(pattern);
  }

  private accept(client: Socket, host: string, port: number): void {
    const upstream = connect(port, host);
    this.sockets.add(client).add(upstream);
    let frozen = false;
    client.on('data', (chunk: Buffer) => {
      if (frozen) return;
      upstream.write(chunk);
      if (this.trigger && chunk.includes(this.trigger)) {
        this.trigger = null;
        frozen = true;
        this.frozen++;
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk);
    });
    const close = (): void => {
      if (frozen) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
