/**
 * Stops werift's NACK loop once nothing is missing.
 *
 * The finding: a werift RTCRtpReceiver asks for lost packets from a 5 ms interval that stops only after a NACK was
 * sent and found nothing left to ask for. But its send step returns a promise that never settles when the list is
 * empty, and the list empties between two ticks whenever the retransmissions arrive (the usual way a loss ends).
 * From then on the loop runs for the receiver's whole life, 200 times a second, each tick leaving one more promise
 * pending forever: CPU and memory that grow with every receiving endpoint that ever saw a loss repaired. werift
 * 0.24 and 0.25 both have it.
 *
 * The fix replaces the handler's `setLost` (on its prototype, once per process) with the same loop that checks the
 * list before sending, so it never waits on a send that cannot end, and stops as soon as the list is empty.
 */
import type { RTCRtpReceiver } from 'werift';

const NACK_INTERVAL_MS = 5;

/** werift's NackHandler, as far as the fix touches it. */
interface NackHandlerLike {
  _lost: Record<number, number>;
  nackLoop: NodeJS.Timeout | undefined;
  closed: boolean;
  sendNack: () => Promise<void>;
  setLost(seq: number, count: number): void;
}

const fixed = new WeakSet<object>();

/** The receiver's NACK handler (werift keeps it private). */
export function nackHandlerOf(receiver: RTCRtpReceiver): NackHandlerLike {
  return (receiver as unknown as { nack: NackHandlerLike }).nack;
}

/** Installs the fix on the NACK handlers of every receiver of werift's class; cheap to call for each receiver. */
export function fixNackLoop(receiver: RTCRtpReceiver): void {
  const proto = Object.getPrototypeOf(nackHandlerOf(receiver)) as NackHandlerLike;
  if (fixed.has(proto)) return;
  fixed.add(proto);
  proto.setLost = function setLost(this: NackHandlerLike, seq: number, count: number): void {
    this._lost[seq] = count;
    if (this.nackLoop || this.closed) return;
    this.nackLoop = setInterval(() => {
      if (this.closed || Object.keys(this._lost).length === 0) {
        clearInterval(this.nackLoop);
        this.nackLoop = undefined;
        return;
      }
      // A failed send (a transport closing) is retried on the next tick, as werift does.
      this.sendNack().catch(() => undefined);
    }, NACK_INTERVAL_MS);
  };
}
