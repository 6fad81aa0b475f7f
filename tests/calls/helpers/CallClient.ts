/**
 * A signed-in user's connection for call tests, from Node: socket.io-client speaking the contract, every server
 * event it receives kept in order, and helpers to wait for one.
 */
import { io, type Socket } from 'socket.io-client';
import type { Ack } from '../../../api/contract/errors.js';
import {
  SIGNALLING_PATH,
  type CallView,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../../../api/contract/signalling.js';
import { waitFor } from '../../../drivers/wait.js';

type Received = [event: string, payload: any];

export class CallClient {
  readonly events: Received[] = [];

  private constructor(readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>) {
    socket.onAny((event: string, payload: unknown) => this.events.push([event, payload]));
  }

  /** Connects with the token; resolves once the server accepted the connection. */
  static async connect(baseUrl: string, token: string): Promise<CallClient> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(baseUrl, {
      path: SIGNALLING_PATH,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token },
    });
    const client = new CallClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => {
        socket.close();
        reject(error);
      });
    });
    return client;
  }

  get id(): string {
    return this.socket.id ?? '';
  }

  /** Sends an event and resolves its acknowledgement, whatever it says. */
  request<T extends object = { call: CallView }>(
    event: keyof ClientToServerEvents | string,
    payload: unknown,
  ): Promise<Ack<T>> {
    return new Promise((resolve, reject) => {
      (this.socket.timeout(20_000).emit as (...a: unknown[]) => void)(
        event,
        payload,
        (err: Error | null, res: Ack<T>) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  invite(nickname: string) {
    return this.request('call:invite', { nickname });
  }

  accept(callId: string) {
    return this.request('call:accept', { callId });
  }

  reject(callId: string) {
    return this.request('call:reject', { callId });
  }

  cancel(callId: string) {
    return this.request('call:cancel', { callId });
  }

  hangUp(callId: string) {
    return this.request('call:hangUp', { callId });
  }

  /** The `call:state` views received for a call, in order. */
  states(callId: string): CallView[] {
    return this.events.filter(([e, m]) => e === 'call:state' && m.id === callId).map(([, m]) => m as CallView);
  }

  /** Waits for a `call:state` of this call in this state (resolves the view). */
  waitState(callId: string, state: CallView['state'], what = `call ${callId} ${state}`): Promise<CallView> {
    return waitFor(() => this.states(callId).find((v) => v.state === state), what);
  }

  /** Waits for an event matching `match` (resolves its payload). */
  waitEvent(event: string, match: (payload: any) => boolean = () => true, what = event): Promise<any> {
    return waitFor(() => this.events.find(([e, m]) => e === event && match(m))?.[1], what);
  }

  close(): void {
    this.socket.close();
  }
}

/** The error code of an acknowledgement, or undefined when it is ok. */
export function codeOf(ack: Ack): string | undefined {
  return ack.ok ? undefined : ack.error.code;
}

/** The call of an ok acknowledgement (fails the test with the error otherwise). */
export function callOf(ack: Ack<{ call: CallView }>): CallView {
  if (!ack.ok) throw new Error(`expected an ok ack, got ${JSON.stringify(ack.error)}`);
  return ack.call;
}
