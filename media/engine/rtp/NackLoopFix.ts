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
 * Its loss detection also compares sequence numbers as plain numbers, not modulo 2^16. A loss across the wrap
 * (65534, then 1) is never asked for, and detection then stays blind until the number comes round again (about
 * 18 minutes of video); a late packet from before the wrap marks up to 65 000 numbers lost at once.
 *
 * The fix replaces the handler's `setLost` and `addPacket` (on its prototype, once per process): the same loop,
 * checking the list before sending so that it never waits on a send that cannot end and stops as soon as the list
 * is empty; the same detection, modulo 2^16, a late or repeated packet changing nothing.
 */
import type { RTCRtpReceiver } from 'werift';

const NACK_INTERVAL_MS = 5;
/** werift keeps at most this many numbers asked for (its LOST_SIZE): a longer gap asks for its last ones. */
const LOST_MAX = 150;

/** werift's NackHandler, as far as the fix touches it. */
interface NackHandlerLike {
  _lost: Record<number, number>;
  nackLoop: NodeJS.Timeout | undefined;
  closed: boolean;
  newEstSeqNum: number;
  mediaSourceSsrc: number | undefined;
  sendNack: () => Promise<void>;
  setLost(seq: number, count: number): void;
  removeLost(seq: number): void;
  pruneLost(): void;
  addPacket(packet: { header: { sequenceNumber: number; ssrc: number } }): void;
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
  proto.addPacket = function addPacket(this: NackHandlerLike, packet): void {
    const { sequenceNumber, ssrc } = packet.header;
    this.mediaSourceSsrc = ssrc;
    // werift's start (0 means "none yet"), kept as it is.
    if (this.newEstSeqNum === 0) {
      this.newEstSeqNum = sequenceNumber;
      return;
    }
    if (this._lost[sequenceNumber] !== undefined) {
      this.removeLost(sequenceNumber);
      return;
    }
    const ahead = (sequenceNumber - this.newEstSeqNum) & 0xffff;
    // A repeat, or a packet from before the newest one (late, or a retransmission no longer asked for).
    if (ahead === 0 || ahead >= 0x8000) return;
    for (let gap = Math.max(1, ahead - LOST_MAX); gap < ahead; gap++)
      this.setLost((this.newEstSeqNum + gap) & 0xffff, 1);
    this.newEstSeqNum = sequenceNumber;
    if (ahead > 1) this.pruneLost();
  };
}
