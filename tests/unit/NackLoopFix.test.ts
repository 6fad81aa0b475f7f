/**
 * The engine's fix of werift's NACK loop (media/engine/rtp/NackLoopFix): werift's own NACK handler, fed packets with
 * a gap, asks for the missing ones and stops asking once nothing is missing, whether the retransmissions came or it
 * gave up on them; it counts modulo 2^16 across the wrap; a closed handler asks nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RTCPeerConnection } from 'werift';
import { fixNackLoop, nackHandlerOf } from '../../media/engine/rtp/NackLoopFix.js';
import { waitFor } from '../../drivers/wait.js';

interface Handler {
  addPacket(packet: { header: { sequenceNumber: number; ssrc: number } }): void;
  close(): void;
  readonly nackLoop: unknown;
  readonly lostSeqNumbers: number[];
}

describe("werift's NACK loop, fixed", () => {
  let pc: RTCPeerConnection;
  /** werift's NackHandler class, taken from a real receiver. */
  let NackHandler: new (receiver: unknown) => Handler;

  before(() => {
    pc = new RTCPeerConnection({ iceServers: [] });
    const { receiver } = pc.addTransceiver('video', { direction: 'recvonly' });
    fixNackLoop(receiver);
    NackHandler = nackHandlerOf(receiver).constructor as typeof NackHandler;
  });
  after(() => pc.close());

  /** A handler on a receiver whose NACKs are counted, with every sequence number asked for. */
  function handler(): { handler: Handler; asked: number[][] } {
    const asked: number[][] = [];
    const receiver = {
      rtcpSsrc: 1,
      dtlsTransport: {
        sendRtcp: async (packets: Array<{ feedback: { lost: number[] } }>) => {
          asked.push(packets[0]!.feedback.lost);
        },
      },
    };
    return { handler: new NackHandler(receiver), asked };
  }
  const packet = (sequenceNumber: number) => ({ header: { sequenceNumber, ssrc: 0x42 } });

  test('a loss repaired by retransmission: asked for, then the loop stops', async () => {
    const { handler: h, asked } = handler();
    for (const seq of [100, 101, 104]) h.addPacket(packet(seq));
    await waitFor(() => asked.length > 0, 'a NACK');
    assert.deepEqual(asked[0], [102, 103]);
    // The retransmissions arrive between two ticks (werift's own loop then runs on for good).
    h.addPacket(packet(102));
    h.addPacket(packet(103));
    assert.deepEqual(h.lostSeqNumbers, []);
    await waitFor(() => h.nackLoop === undefined, 'the loop to stop once nothing is missing');
    const sent = asked.length;
    h.addPacket(packet(105));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(asked.length, sent, 'nothing asked with nothing missing');
    h.close();
  });

  test('a loss never repaired: asked for a few times, then given up, and the loop stops', async () => {
    const { handler: h, asked } = handler();
    for (const seq of [7, 9]) h.addPacket(packet(seq));
    await waitFor(() => h.nackLoop === undefined && asked.length > 0, 'the loop to give up');
    assert.ok(
      asked.every((lost) => lost.length === 1 && lost[0] === 8),
      'only the missing packet asked for',
    );
    assert.ok(asked.length > 1, 'asked again while it did not come');
    h.close();
  });

  test('a loss across the sequence wrap is asked for, and detection goes on past it', async () => {
    const { handler: h, asked } = handler();
    for (const seq of [65_533, 65_534, 1]) h.addPacket(packet(seq));
    await waitFor(() => asked.length > 0, 'a NACK');
    assert.deepEqual(
      asked[0]!.toSorted((a, b) => a - b),
      [0, 65_535],
    );
    for (const seq of [65_535, 0, 2, 5]) h.addPacket(packet(seq));
    await waitFor(() => asked.some((lost) => lost.includes(3)), 'the next loss asked for');
    assert.deepEqual(
      h.lostSeqNumbers.toSorted((a, b) => a - b),
      [3, 4],
    );
    h.close();
  });

  test('a late packet from before the wrap marks nothing lost', async () => {
    const { handler: h, asked } = handler();
    for (const seq of [65_534, 65_535, 0, 1, 65_530, 2]) h.addPacket(packet(seq));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(asked, []);
    assert.deepEqual(h.lostSeqNumbers, []);
    h.close();
  });

  test('a closed handler stops asking', async () => {
    const { handler: h, asked } = handler();
    for (const seq of [1, 5]) h.addPacket(packet(seq));
    await waitFor(() => asked.length > 0, 'a NACK');
    h.close();
    const sent = asked.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(asked.length, sent);
  });
});
