import { NatsFlowPublisher, NatsUnavailableError } from "../transport/nats";

/** After NATS failed, how long batches go straight to the console instead of waiting on NATS again. */
const retryNatsAfterMs = 5_000;

/**
 * The NATS JetStream flow destination a plan may give its agents (`nats://HOST:PORT/SUBJECT`): publishes
 * spooled batches (their exact gzip body, `Nats-Msg-Id` = batch id) under the agent's credential. Any
 * failure throws {@link NatsUnavailableError}, and for a few seconds after one NATS is not tried at all,
 * so the shipper posts to the console over HTTP meanwhile instead of waiting on a timeout per batch.
 */
export class NatsDestination {
  private publisher: { url: string; publisher: NatsFlowPublisher } | undefined;
  private skipUntil = 0;
  readonly published = { batches: 0, duplicates: 0 };

  constructor(
    /** The destination the applied config names now (undefined: not NATS). */
    private readonly wanted: () => string | undefined,
    private readonly credential: string,
    private readonly log: (msg: string) => void,
    private readonly timeoutMs = 2_000,
  ) {}

  get url(): string | undefined {
    return this.wanted();
  }

  /** Stores one batch in the stream; throws NatsUnavailableError when it cannot now. */
  async publish(batchId: string, gzipBody: Uint8Array): Promise<{ duplicate: boolean }> {
    const url = this.wanted();
    if (url === undefined) throw new NatsUnavailableError("no NATS destination configured");
    if (Date.now() < this.skipUntil) throw new NatsUnavailableError(`NATS at ${url} failed moments ago`);
    try {
      const publisher = await this.connected(url);
      const answer = await publisher.publishEncoded(batchId, gzipBody, this.credential);
      this.published.batches++;
      if (answer.duplicate) this.published.duplicates++;
      return answer;
    } catch (error) {
      this.skipUntil = Date.now() + retryNatsAfterMs;
      throw error instanceof NatsUnavailableError ? error : new NatsUnavailableError(String(error));
    }
  }

  private async connected(url: string): Promise<NatsFlowPublisher> {
    if (this.publisher?.url === url) return this.publisher.publisher;
    await this.close();
    const publisher = await NatsFlowPublisher.connect(url, { timeoutMs: this.timeoutMs });
    this.log(`publishing flow batches to ${url}`);
    this.publisher = { url, publisher };
    return publisher;
  }

  async close(): Promise<void> {
    const open = this.publisher;
    this.publisher = undefined;
    await open?.publisher.close();
  }
}
