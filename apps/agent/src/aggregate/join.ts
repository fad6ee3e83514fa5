import { type Endpoint, type FlowRecord, parseRecordTime } from "@kernflow/protocol";

/**
 * Joins the two sides of one conversation direction: the record of the host that sent it (vantage
 * `src`, which knows the sending process) and the record of the host that received it (vantage `dst`,
 * which knows the receiving process). Each gets the other end's process and container metadata; both are
 * kept (no de-duplication, they are two observations).
 *
 * Memory is bounded twice: a record waits at most `windowMs` for its partner (then it is forwarded
 * unjoined), and at most `maxEntries` records are held at all (beyond that the oldest leaves early,
 * unjoined). What a side taught about a conversation (its endpoint) is remembered as long as one of its
 * records is held, so a partner arriving after the first side left still gets joined.
 */
export interface JoinOptions {
  windowMs: number;
  maxEntries: number;
  /** Intervals of two hosts are drained at different moments and clocks differ: this much apart still overlaps. */
  slackMs: number;
  now?: () => number;
}

/** Where a record came from: the sender's credential slot and a stable id (source batch id + index). */
export interface Origin {
  sender: number;
  id: string;
}

export type JoinOutcome = "joined" | "unjoined" | "evicted";

export type EmitJoined = (record: FlowRecord, origin: Origin, outcome: JoinOutcome) => void;

export interface JoinMetrics {
  received: number;
  joined: number;
  unjoined: number;
  /** Unjoined because the entry cap was reached before their window ended. */
  evicted: number;
  /** Records waiting for a partner now. */
  waiting: number;
  /** Records held (waiting, or remembered as a partner for later arrivals), at most maxEntries. */
  held: number;
  conversations: number;
  /** held / maxEntries. */
  occupancy: number;
}

/** What one side said about its own end of a conversation, merged over its records. */
interface Side {
  endpoint: Endpoint;
  startMs: number;
  endMs: number;
}

interface Held {
  /** Null once forwarded: the conversation's Side keeps what later partners need, not the record. */
  record: FlowRecord | null;
  origin: Origin;
  conversation: Conversation;
  startMs: number;
  endMs: number;
  /** Already forwarded (joined on arrival or later); still held so its conversation is remembered. */
  done: boolean;
}

interface Conversation {
  key: string;
  src: Side | null;
  dst: Side | null;
  /** Null while none waits: most conversations join on arrival and never need the arrays. */
  waitingSrc: Held[] | null;
  waitingDst: Held[] | null;
  /** Held records of this conversation; it is forgotten when the last one leaves. */
  held: number;
}

/** The process and container fields a side knows only about its own end (written out: this runs per record). */
function fillProcess(target: Endpoint, from: Endpoint): void {
  if (from.pid !== null) target.pid = from.pid;
  if (from.process_name !== null) target.process_name = from.process_name;
  if (from.process_cmdline !== null) target.process_cmdline = from.process_cmdline;
  if (from.container_id !== null) target.container_id = from.container_id;
  if (from.container_name !== null) target.container_name = from.container_name;
}

function overlaps(side: Side, startMs: number, endMs: number, slackMs: number): boolean {
  return side.startMs <= endMs + slackMs && startMs <= side.endMs + slackMs;
}

function mergeSide(side: Side | null, endpoint: Endpoint, startMs: number, endMs: number): Side {
  if (side === null) return { endpoint, startMs, endMs };
  side.endpoint = endpoint;
  if (startMs < side.startMs) side.startMs = startMs;
  if (endMs > side.endMs) side.endMs = endMs;
  return side;
}

/** The conversation direction: a record of either vantage of the same packets has the same key. */
export function conversationKey(r: FlowRecord): string {
  return `${r.protocol}|${r.src_addr}|${r.src_port}|${r.dst_addr}|${r.dst_port}`;
}

export class FlowJoiner {
  private readonly conversations = new Map<string, Conversation>();
  /**
   * Held records in arrival order, with their deadlines alongside (arrival + window, so the head always
   * expires first). A record joined on arrival is held only as its conversation (no object of its own):
   * the slot keeps the conversation remembered for its partner's later intervals.
   */
  private queue: (Held | Conversation)[] = [];
  private deadlines: number[] = [];
  private head = 0;
  private waitingCount = 0;
  private readonly now: () => number;
  private readonly counts = { received: 0, joined: 0, unjoined: 0, evicted: 0 };

  constructor(
    private readonly options: JoinOptions,
    private readonly emit: EmitJoined,
  ) {
    if (!(options.windowMs >= 0)) throw new RangeError("windowMs must be at least 0");
    if (!(options.maxEntries >= 1)) throw new RangeError("maxEntries must be at least 1");
    this.now = options.now ?? Date.now;
  }

  add(record: FlowRecord, origin: Origin): void {
    this.counts.received++;
    const now = this.now();
    while (this.heldCount() >= this.options.maxEntries) this.release(true);
    const key = conversationKey(record);
    let conversation = this.conversations.get(key);
    if (conversation === undefined) {
      conversation = { key, src: null, dst: null, waitingSrc: null, waitingDst: null, held: 0 };
      this.conversations.set(key, conversation);
    }
    const startMs = parseRecordTime(record.ts_start);
    const endMs = parseRecordTime(record.ts_end);
    const { slackMs } = this.options;
    let joinedNow = false;
    if (record.vantage === "src") {
      conversation.src = mergeSide(conversation.src, record.src, startMs, endMs);
      // Destination-side records waiting for this one learn the sending process.
      if (conversation.waitingDst !== null)
        conversation.waitingDst = this.settle(conversation.waitingDst, conversation.src, "src");
      if (conversation.dst !== null && overlaps(conversation.dst, startMs, endMs, slackMs)) {
        fillProcess(record.dst, conversation.dst.endpoint);
        joinedNow = true;
      }
    } else {
      conversation.dst = mergeSide(conversation.dst, record.dst, startMs, endMs);
      if (conversation.waitingSrc !== null)
        conversation.waitingSrc = this.settle(conversation.waitingSrc, conversation.dst, "dst");
      if (conversation.src !== null && overlaps(conversation.src, startMs, endMs, slackMs)) {
        fillProcess(record.src, conversation.src.endpoint);
        joinedNow = true;
      }
    }
    conversation.held++;
    this.deadlines.push(now + this.options.windowMs);
    if (joinedNow) {
      this.queue.push(conversation);
      this.counts.joined++;
      this.emit(record, origin, "joined");
      return;
    }
    const held: Held = { record, origin, conversation, startMs, endMs, done: false };
    if (record.vantage === "src") {
      if (conversation.waitingSrc === null) conversation.waitingSrc = [held];
      else conversation.waitingSrc.push(held);
    } else if (conversation.waitingDst === null) conversation.waitingDst = [held];
    else conversation.waitingDst.push(held);
    this.queue.push(held);
    this.waitingCount++;
  }

  /** Forwards, unjoined, every record whose window has passed. */
  expire(): void {
    const now = this.now();
    while (this.head < this.queue.length && (this.deadlines[this.head] as number) <= now) {
      this.release(false);
    }
  }

  /** Forwards everything still waiting (shutdown) and forgets every conversation. */
  flushAll(): void {
    while (this.head < this.queue.length) this.release(false);
  }

  metrics(): JoinMetrics {
    const held = this.heldCount();
    return {
      ...this.counts,
      waiting: this.waitingCount,
      held,
      conversations: this.conversations.size,
      occupancy: held / this.options.maxEntries,
    };
  }

  private heldCount(): number {
    return this.queue.length - this.head;
  }

  /** Emits the waiting records of the other vantage that `side` overlaps (filling its end), keeps the rest. */
  private settle(waiting: Held[], side: Side, end: "src" | "dst"): Held[] | null {
    const still: Held[] = [];
    for (const held of waiting) {
      const record = held.record as FlowRecord;
      if (overlaps(side, held.startMs, held.endMs, this.options.slackMs)) {
        fillProcess(record[end], side.endpoint);
        held.done = true;
        held.record = null;
        this.waitingCount--;
        this.counts.joined++;
        this.emit(record, held.origin, "joined");
      } else still.push(held);
    }
    return still.length === 0 ? null : still;
  }

  /** Lets the oldest held record go: forwarded unjoined if it still waited. */
  private release(evicted: boolean): void {
    const item = this.queue[this.head] as Held | Conversation;
    this.queue[this.head] = undefined as unknown as Held;
    this.head++;
    // Compact now and then so the arrays do not grow without end.
    if (this.head > 65_536 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.deadlines = this.deadlines.slice(this.head);
      this.head = 0;
    }
    const held = "origin" in item ? item : null;
    const conversation = held === null ? (item as Conversation) : held.conversation;
    if (held !== null && !held.done) {
      const record = held.record as FlowRecord;
      held.done = true;
      held.record = null;
      this.waitingCount--;
      const isSrc = record.vantage === "src";
      const list = isSrc ? conversation.waitingSrc : conversation.waitingDst;
      // Per conversation, records wait in arrival order too, so this one is first.
      const at = list === null ? -1 : list.indexOf(held);
      if (list !== null && at >= 0) {
        list.splice(at, 1);
        if (list.length === 0) {
          if (isSrc) conversation.waitingSrc = null;
          else conversation.waitingDst = null;
        }
      }
      if (evicted) this.counts.evicted++;
      else this.counts.unjoined++;
      this.emit(record, held.origin, evicted ? "evicted" : "unjoined");
    }
    conversation.held--;
    if (conversation.held === 0) this.conversations.delete(conversation.key);
  }
}
