import { connect, type Socket } from "node:net";

/** One TCP connection to a collector: connect with a timeout, write messages honouring back-pressure. */
export class TcpConnection {
  private socket: Socket | null = null;
  private failure: Error | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly connectTimeoutMs: number,
  ) {}

  /** True once the peer closed or reset the connection; the next send opens a new one. */
  get broken(): boolean {
    return this.failure !== null || this.socket === null || this.socket.destroyed;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${this.host}:${this.port} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.setNoDelay(true);
        // Collectors never send anything on an IPFIX session; a close or error means it is gone.
        socket.on("error", (error) => {
          this.failure = error;
        });
        socket.on("close", () => {
          this.failure ??= new Error(`collector ${this.host}:${this.port} closed the connection`);
        });
        socket.resume();
        this.socket = socket;
        resolve();
      });
    });
  }

  async write(messages: readonly Buffer[]): Promise<void> {
    const socket = this.socket;
    if (socket === null || this.failure !== null) {
      throw this.failure ?? new Error("not connected");
    }
    for (const message of messages) {
      const flushed = socket.write(message);
      if (!flushed) await waitForDrain(socket);
      if (this.failure !== null) throw this.failure;
    }
    // The last write's callback fires once the kernel took it; a reset peer fails it.
    await new Promise<void>((resolve, reject) =>
      socket.write(Buffer.alloc(0), (e) => (e ? reject(e) : resolve())),
    );
    if (this.failure !== null) throw this.failure;
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket === null || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once("close", () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
    });
  }
}

function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off("drain", onDrain);
      reject(error);
    };
    const onDrain = () => {
      socket.off("error", onError);
      resolve();
    };
    socket.once("drain", onDrain);
    socket.once("error", onError);
  });
}
