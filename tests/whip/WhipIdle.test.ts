/**
 * An encoder that vanishes without DELETE (a crash, a lost network): once no media has arrived for WHIP_IDLE_MS,
 * its live ends as a DELETE would end it (recording stored, pipeline released), and the key publishes again. A live
 * whose encoder keeps sending stays on air past that time.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { waitFor } from '../../drivers/wait.js';
import { WhipPeer } from '../../drivers/whip.js';
import { pipelineCount } from '../support/media.js';
import { useWhipServer } from '../support/whipServer.js';
import { skipUnless } from '../support/services.js';

const IDLE_MS = 2000;

describe('a WHIP encoder that vanishes', { skip: skipUnless('ffmpeg', 'mariadb') }, () => {
  const whip = useWhipServer({ WHIP_IDLE_MS: String(IDLE_MS) });
  const { peers } = whip;
  let presenter: SignedInUser;

  before(async () => {
    presenter = await registerUser(whip.server.url);
  });

  const listed = async (): Promise<string[]> =>
    ((await presenter.client.get('/api/lives')).body.lives as Array<{ id: string }>).map((l) => l.id);

  test('its live ends after WHIP_IDLE_MS without media, the recording is stored, and the key publishes again', async () => {
    const baseline = await pipelineCount(whip.server);
    const created = await presenter.client.post('/api/stream-keys', { name: 'Vanishing' });
    assert.equal(created.status, 201, created.text);
    const key = created.body.key as string;

    const encoder = WhipPeer.publisher(whip.clip);
    peers.push(encoder);
    assert.equal((await encoder.connect(`${whip.server.url}/whip`, key)).status, 201);
    const liveId = await waitFor(async () => (await listed())[0], 'the WHIP live on air');
    await waitFor(() => encoder.connectionState === 'connected', 'the encoder connected');
    // Sending: on air well past the idle time.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 2));
    assert.deepEqual(await listed(), [liveId], 'a live whose encoder sends stays on air');

    // The encoder goes away without its DELETE.
    await encoder.close();
    await waitFor(async () => (await listed()).length === 0, 'the idle live to end', { timeoutMs: 30_000 });
    await waitFor(async () => (await pipelineCount(whip.server)) === baseline, 'its pipeline released');
    const { Recording, Live } = whip.server.server.db;
    const row = await waitFor(
      async () => {
        const r = await Recording.findOne({ where: { liveId } });
        return r && r.status !== 'recording' ? r : null;
      },
      'its recording stored',
      { timeoutMs: 30_000 },
    );
    assert.ok(['ready', 'incomplete'].includes(row.status), row.status);
    assert.equal((await Live.findByPk(liveId))?.endReason, 'stopped');

    // The key is free again.
    const again = WhipPeer.publisher(whip.clip);
    peers.push(again);
    const published = await again.connect(`${whip.server.url}/whip`, key);
    assert.equal(published.status, 201, published.text);
    assert.equal(await again.hangUp(), 200);
    await waitFor(async () => (await pipelineCount(whip.server)) === baseline, 'the second live released');
  });
});
