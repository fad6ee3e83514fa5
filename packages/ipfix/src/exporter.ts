import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import type { FlowRecord } from "@kernflow/protocol";
import { Backoff } from "./backoff";
import { type EncoderOptions, IpfixEncoder } from "./encoder";
import { TcpConnection } from "./tcp-connection";

export type IpfixTransport = "udp" | "tcp";

export interface ExporterOptions extends EncoderOptions {
  transport: IpfixTransport;
  host: string;
  port: number;
  /** UDP: templates are re-sent at least this often (RFC 7011 §8.4); default 30 s. */
  templateRefreshMs?: number;
  /** UDP: … and at least every this many messages; default 256. */
  templateRefreshMessages?: number;
  /** Told about failures and recoveries, so an operator sees why records are not arriving. */
  log?: (message: string) => void;
  /** First retry delay after a failure; doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** TCP: give up connecting after this long; default 5 s. */
  connectTimeoutMs?: number;
}

/** The outcome of one {@link IpfixExporter.send}: records that left, or were dropped while the collector is away. */
export interface SendResult {
  sent: number;
  dropped: number;
  /** Why records were dropped; null when every record was sent. */
  error: Error | null;
}

export interface ExporterStats {
  recordsSent: number;
  recordsDropped: number;
  messagesSent: number;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
}

/**
 * Sends flow records to one IPFIX collector over UDP or TCP. A collector that is down or refusing never
 * blocks or fails the caller: records are dropped (and counted) while the exporter backs off, and it
 * tries again after the delay. The caller decides what else to do with the error (log, store it).
 */
export class IpfixExporter {
  readonly stats: ExporterStats = {
    recordsSent: 0,
    recordsDropped: 0,
    messagesSent: 0,
    lastError: null,
    lastErrorAt: null,
    lastSuccessAt: null,
  };
  private readonly options: ExporterOptions;
  private encoder: IpfixEncoder;
  private readonly backoff: Backoff;
  private udp: UdpSocket | null = null;
  private udpError: Error | null = null;
  private tcp: TcpConnection | null = null;
  private messagesSinceTemplates = 0;
  private templatesSentAt = 0;
  private closed = false;

  constructor(options: ExporterOptions) {
    this.options = options;
    this.encoder = new IpfixEncoder(options);
    this.backoff = new Backoff(options.minBackoffMs ?? 1_000, options.maxBackoffMs ?? 30_000);
  }

  get target(): string {
    const host = isIPv6(this.options.host) ? `[${this.options.host}]` : this.options.host;
    return `${this.options.transport === "udp" ? "ipfix" : "ipfix+tcp"}://${host}:${this.options.port}`;
  }

  /** Sequence number the next message will carry (data records sent in this session). */
  get sequenceNumber(): number {
    return this.encoder.sequenceNumber;
  }

  async send(records: readonly FlowRecord[]): Promise<SendResult> {
    if (this.closed) throw new Error(`exporter to ${this.target} is closed`);
    if (records.length === 0) return { sent: 0, dropped: 0, error: null };
    if (!this.backoff.ready()) {
      return this.drop(
        records.length,
        new Error(`${this.target}: ${this.stats.lastError} (retrying later)`),
        false,
      );
    }
    try {
      if (this.options.transport === "udp") await this.sendUdp(records);
      else await this.sendTcp(records);
    } catch (error) {
      return this.drop(records.length, error as Error, true);
    }
    this.stats.recordsSent += records.length;
    this.stats.lastSuccessAt = new Date();
    if (this.backoff.failures > 0) this.options.log?.(`${this.target}: collector reachable again`);
    this.backoff.succeeded();
    return { sent: records.length, dropped: 0, error: null };
  }

  /**
   * UDP has no receipt, and a refusing collector's ICMP error only surfaces on a later send: after
   * `waitMs`, sends the templates again (no data records, so the sequence is unchanged) and returns the
   * error that shows, if any. Over TCP the last send was already acknowledged by the peer's kernel.
   */
  async confirm(waitMs = 300): Promise<Error | null> {
    if (this.options.transport === "tcp" || this.udp === null) return null;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    try {
      if (this.udpError !== null) throw this.takeUdpError();
      await sendDatagram(this.udp, this.encoder.templateMessage());
      if (this.udpError !== null) throw this.takeUdpError();
      return null;
    } catch (error) {
      return error as Error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.udp?.close();
    this.udp = null;
    await this.tcp?.close();
    this.tcp = null;
  }

  private drop(count: number, error: Error, fresh: boolean): SendResult {
    this.stats.recordsDropped += count;
    if (fresh) {
      const delay = this.backoff.failed();
      this.stats.lastError = error.message;
      this.stats.lastErrorAt = new Date();
      this.options.log?.(
        `${this.target}: ${error.message}; ${count} record(s) dropped, retrying in ${delay} ms`,
      );
    }
    return { sent: 0, dropped: count, error };
  }

  private async sendUdp(records: readonly FlowRecord[]): Promise<void> {
    const socket = await this.udpSocket();
    const now = Date.now();
    const refreshMs = this.options.templateRefreshMs ?? 30_000;
    const refreshMessages = this.options.templateRefreshMessages ?? 256;
    const due =
      this.templatesSentAt === 0 ||
      now - this.templatesSentAt >= refreshMs ||
      this.messagesSinceTemplates >= refreshMessages;
    const messages = this.encoder.encode(records, { withTemplates: due });
    if (due) {
      this.templatesSentAt = now;
      this.messagesSinceTemplates = 0;
    }
    // All of a batch's datagrams are handed to the kernel at once (libuv keeps their order); waiting for
    // each one's callback would cap the rate at one datagram per event-loop turn.
    const failure = await this.sendDatagrams(socket, messages);
    // An ICMP "port unreachable" for an earlier datagram surfaces as a send or socket error.
    if (failure !== null || this.udpError !== null) {
      this.udpError ??= failure;
      throw this.takeUdpError();
    }
  }

  /**
   * Sends the datagrams in order and resolves, once every one is done, with the first failure (or null).
   * One callback counts them all: a promise per datagram cost more than the encoding of its records.
   */
  private sendDatagrams(socket: UdpSocket, messages: readonly Buffer[]): Promise<Error | null> {
    if (messages.length === 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      let pending = messages.length;
      let failure: Error | null = null;
      const done = (error: Error | null) => {
        if (error) {
          failure ??= error;
        } else {
          this.messagesSinceTemplates += 1;
          this.stats.messagesSent += 1;
        }
        pending -= 1;
        if (pending === 0) resolve(failure);
      };
      for (const message of messages) {
        try {
          socket.send(message, done);
        } catch (error) {
          done(error as Error);
        }
      }
    });
  }

  private takeUdpError(): Error {
    const error = this.udpError as Error;
    this.udpError = null;
    // A fresh socket after the back-off: the collector that comes back gets templates again at once.
    this.udp?.close();
    this.udp = null;
    this.templatesSentAt = 0;
    return error;
  }

  private async udpSocket(): Promise<UdpSocket> {
    if (this.udp !== null) return this.udp;
    // A deep send buffer absorbs a drained batch's burst of datagrams instead of stalling on EAGAIN
    // (the kernel caps it at net.core.wmem_max).
    const socket = createSocket({
      type: isIPv6(this.options.host) ? "udp6" : "udp4",
      sendBufferSize: 4 << 20,
    });
    socket.on("error", (error) => {
      this.udpError = error;
    });
    // Connected, so the kernel reports a refusing collector (ECONNREFUSED) instead of dropping silently.
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(this.options.port, this.options.host, () => {
        socket.off("error", reject);
        resolve();
      });
    }).catch((error: Error) => {
      socket.close();
      throw error;
    });
    this.udp = socket;
    this.udpError = null;
    return socket;
  }

  private async sendTcp(records: readonly FlowRecord[]): Promise<void> {
    if (this.tcp === null || this.tcp.broken) {
      await this.tcp?.close();
      this.tcp = null;
      // One transport session per connection: a new encoder restarts the sequence with the templates.
      this.encoder = new IpfixEncoder(this.options);
      const connection = new TcpConnection(
        this.options.host,
        this.options.port,
        this.options.connectTimeoutMs ?? 5_000,
      );
      await connection.open();
      await connection.write([this.encoder.templateMessage()]);
      this.stats.messagesSent += 1;
      this.tcp = connection;
    }
    const messages = this.encoder.encode(records);
    await this.tcp.write(messages);
    this.stats.messagesSent += messages.length;
  }
}

function sendDatagram(socket: UdpSocket, message: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.send(message, (error) => (error ? reject(error) : resolve()));
  });
}
