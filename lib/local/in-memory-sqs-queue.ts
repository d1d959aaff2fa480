import TinyQueue from 'tinyqueue';
import type { Millis } from '../election/types.js';

// SQS's message lifecycle, in memory and on a clock its callers pass in: the one copy both local
// timer queues keep (local-timer-queue.ts in process, packaged/sqs-timer-endpoint.ts over HTTP).
// It starts nothing and sets no timer: each front end asks when the next message comes due and
// schedules its own wake-up.

export interface SqsQueueSettings {
  /** The queue's VisibilityTimeout: how long a received message stays invisible, from the receive. */
  readonly visibilityTimeoutMs: Millis;
  /** The redrive policy's maxReceiveCount: a receive finding a message received this often dead-letters it. */
  readonly maxReceiveCount: number;
}

/** A message as one receive hands it out. */
export interface ReceivedMessage<T> {
  readonly id: string;
  readonly body: T;
  /** This receive's handle: a handle from an earlier receive is stale. */
  readonly receiptHandle: string;
  /** SQS's ApproximateReceiveCount: 1 on the first receive. */
  readonly receiveCount: number;
  readonly sentAt: Millis;
  readonly firstReceivedAt: Millis;
}

/** A message the redrive moved to the dead-letter queue, with the receives it had. */
export interface DeadLetter<T> {
  readonly id: string;
  readonly body: T;
  readonly receiveCount: number;
}

export interface Receive<T> {
  readonly received: ReceivedMessage<T>[];
  readonly deadLettered: DeadLetter<T>[];
}

interface Message<T> {
  readonly id: string;
  readonly body: T;
  readonly sentAt: Millis;
  /** When a receive can next take it: its delay's end, or the end of its visibility after a receive. */
  visibleAt: Millis;
  receiveCount: number;
  firstReceivedAt?: Millis;
  /** The current receive's handle while the message is in flight. */
  receiptHandle?: string;
}

/** A waiting message's place in line. */
interface Place {
  readonly visibleAt: Millis;
  /** When it was put in line (sent, or released), so that messages visible at the same time keep that order. */
  readonly order: number;
  readonly id: string;
}

/**
 * One SQS queue with a redrive policy. A received message is in flight until its receiver deletes
 * it (handled) or releases it (failed), as Lambda's poller settles a batch once `requeue` answers;
 * a released message is visible again when its visibility ends: the visibility timeout counted
 * from the receive, or what ChangeMessageVisibility last set. Lambda's poller always settles
 * within the function timeout, which the visibility timeout may not be shorter than, so nothing
 * becomes visible while it is still being handled. As on SQS, the redrive acts on a receive: one
 * that finds a visible message already received maxReceiveCount times moves it to the dead-letter
 * queue instead of handing it out, so a message that failed its last receive is dead-lettered when
 * its visibility ends, not when it fails.
 */
export class InMemorySqsQueue<T> {
  private readonly messages = new Map<string, Message<T>>();
  private readonly inFlight = new Map<string, Message<T>>();
  /**
   * The messages not in flight, earliest visible first. A local stack holds tens of thousands of
   * timers (one or more per lease), and the in-process timer queue asks for the next one due at
   * every send and settle: a heap keeps its receives and those asks logarithmic (visibleCount, and
   * nextDueAt past messages already visible, still scan). A message leaves it when received and
   * comes back when released; the place of a message sent again under the same id no longer
   * matches it, and is dropped when it reaches the top.
   */
  private waiting = new TinyQueue<Place>([], byVisibleAt);
  private sent = 0;

  constructor(private readonly settings: SqsQueueSettings) {}

  /** SendMessage: the message is visible from `visibleAt` (now plus its delay). */
  send(id: string, body: T, visibleAt: Millis, now: Millis): void {
    this.messages.set(id, { id, body, sentAt: now, visibleAt, receiveCount: 0 });
    this.line(id, visibleAt);
  }

  /**
   * ReceiveMessage at `now`: up to `max` of the messages visible by `visibleBy` (`now` unless a
   * test fires early), earliest first, each invisible for the visibility timeout from `now`. The
   * redrive moves the ones already received maxReceiveCount times that it meets before it has
   * `max`, without counting them; the rest wait for the next receive, as on SQS.
   */
  receive(now: Millis, max: number, visibleBy: Millis = now): Receive<T> {
    const received: ReceivedMessage<T>[] = [];
    const deadLettered: DeadLetter<T>[] = [];
    for (let message = this.first(); message !== undefined; message = this.first()) {
      if (message.visibleAt > visibleBy || received.length >= max) break;
      this.waiting.pop();
      if (message.receiveCount < this.settings.maxReceiveCount) received.push(this.take(message, now));
      else {
        this.messages.delete(message.id);
        deadLettered.push({ id: message.id, body: message.body, receiveCount: message.receiveCount });
      }
    }
    return { received, deadLettered };
  }

  /**
   * ChangeMessageVisibility: the in-flight message is visible again `afterMs` from `now` once
   * released. False, changing nothing, for a handle that is not the current receive's of a message
   * in flight (unknown, settled, or received again since), as SQS refuses it.
   */
  changeVisibility(receiptHandle: string, afterMs: Millis, now: Millis): boolean {
    const message = this.inFlight.get(receiptHandle);
    if (message === undefined) return false;
    message.visibleAt = now + afterMs;
    return true;
  }

  /** DeleteMessage: the receive handled it. False for a handle not in flight. */
  delete(receiptHandle: string): boolean {
    const message = this.inFlight.get(receiptHandle);
    if (message === undefined) return false;
    this.inFlight.delete(receiptHandle);
    this.messages.delete(message.id);
    return true;
  }

  /** The receive failed: the message is visible again when its visibility ends. False for a handle not in flight. */
  release(receiptHandle: string): boolean {
    const message = this.inFlight.get(receiptHandle);
    if (message === undefined) return false;
    this.inFlight.delete(receiptHandle);
    message.receiptHandle = undefined;
    this.line(message.id, message.visibleAt);
    return true;
  }

  /** Lambda's poller settling a batch: the failed messages (by id) are released, the rest deleted. */
  settle(batch: readonly { id: string; receiptHandle: string }[], failed: ReadonlySet<string>): void {
    for (const { id, receiptHandle } of batch)
      if (failed.has(id)) this.release(receiptHandle);
      else this.delete(receiptHandle);
  }

  /**
   * When a receive next finds a message visible that is not visible at `after` (the earliest
   * waiting message when no time is given): when the front end wakes. In-flight messages count
   * from their release.
   */
  nextDueAt(after: Millis = Number.NEGATIVE_INFINITY): Millis | undefined {
    const first = this.first()?.visibleAt;
    if (first === undefined || first > after) return first;
    // Messages visible already wait at the top: a caller looking past them (the packaged endpoint) scans.
    let next: Millis | undefined;
    for (const m of this.messages.values())
      if (m.receiptHandle === undefined && m.visibleAt > after && (next === undefined || m.visibleAt < next))
        next = m.visibleAt;
    return next;
  }

  /** How many messages a receive at `now` would find (ApproximateNumberOfMessagesVisible). */
  visibleCount(now: Millis): number {
    let count = 0;
    for (const m of this.messages.values()) if (m.receiptHandle === undefined && m.visibleAt <= now) count++;
    return count;
  }

  /** PurgeQueue, in flight too: a settle after it finds no handle and brings nothing back. */
  clear(): void {
    this.messages.clear();
    this.inFlight.clear();
    this.waiting = new TinyQueue<Place>([], byVisibleAt);
  }

  /** Puts a message that is not in flight in line for its visibility. */
  private line(id: string, visibleAt: Millis): void {
    this.waiting.push({ visibleAt, order: this.sent++, id });
  }

  /** The earliest visible message not in flight, dropping stale places on the way. */
  private first(): Message<T> | undefined {
    for (let place = this.waiting.peek(); place !== undefined; place = this.waiting.peek()) {
      const message = this.messages.get(place.id);
      const current =
        message !== undefined && message.receiptHandle === undefined && message.visibleAt === place.visibleAt;
      if (current) return message;
      this.waiting.pop();
    }
    return undefined;
  }

  private take(message: Message<T>, now: Millis): ReceivedMessage<T> {
    message.receiveCount += 1;
    message.firstReceivedAt ??= now;
    message.visibleAt = now + this.settings.visibilityTimeoutMs;
    message.receiptHandle = `${message.id}#${message.receiveCount}`;
    this.inFlight.set(message.receiptHandle, message);
    const { id, body, receiptHandle, receiveCount, sentAt, firstReceivedAt } = message;
    return { id, body, receiptHandle, receiveCount, sentAt, firstReceivedAt };
  }
}

function byVisibleAt(a: Place, b: Place): number {
  return a.visibleAt - b.visibleAt || a.order - b.order;
}
