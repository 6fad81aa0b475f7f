/**
 * The WHIP suites' set-up: a test server with the embedded media engine (and the suite's environment), the smoke
 * clip the encoders send (made in a temporary folder), and the peers a suite opens; after the suite every peer is
 * closed, then the server, then the folder removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { makeClip, readClip, type Clip } from '../../smoke/media.js';
import type { WhipPeer } from '../../drivers/whip.js';
import { startTestServer, type TestServer } from './server.js';
import { setUpValue } from './fixture.js';

export interface WhipSuite {
  readonly server: TestServer;
  readonly clip: Clip;
  /** The temporary folder the clip is in (a suite may make other clips there). */
  readonly clipDir: string;
  /** Peers opened by the suite, closed after it. */
  readonly peers: WhipPeer[];
}

export function useWhipServer(env: Record<string, string> = {}): WhipSuite {
  let server: TestServer | undefined;
  let clip: Clip | undefined;
  let clipDir: string | undefined;
  const peers: WhipPeer[] = [];
  before(async () => {
    clipDir = await mkdtemp(path.join(os.tmpdir(), 'onair-whip-'));
    clip = await readClip(await makeClip(clipDir));
    server = await startTestServer({ server: { media: {} }, env });
  });
  after(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    await server?.close();
    if (clipDir) await rm(clipDir, { recursive: true, force: true });
  });
  const ready = setUpValue('the WHIP suite is not set up (use it inside a test or a later hook)');
  return {
    get server() {
      return ready(server);
    },
    get clip() {
      return ready(clip);
    },
    get clipDir() {
      return ready(clipDir);
    },
    peers,
  };
}
