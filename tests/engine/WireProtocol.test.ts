/**
 * The Kurento JSON-RPC wire contract, frame by frame: sessions, describe, transactions with newref,
 * 6.x event names, connect, and the subscribe/unsubscribe rules after release.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { skipUnless } from '../support/services.js';
import { assertBackToBaseline, useTestEngine, waitFor } from './helpers/engineHarness.js';
import { RawRpc } from './helpers/RawRpc.js';

describe('the Kurento wire protocol', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine();
  const sockets: RawRpc[] = [];
  const open = async () => {
    const rpc = await RawRpc.open(fixture.engine.uri);
    sockets.push(rpc);
    return rpc;
  };
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test('ping answers pong with or without params, and carries no session', async () => {
    const rpc = await open();
    assert.deepEqual((await rpc.request('ping', { interval: 5000 })).result, { value: 'pong' });
    const bare = await rpc.send(JSON.stringify({ jsonrpc: '2.0', method: 'ping', id: 99 }), 99);
    assert.deepEqual(bare.result, { value: 'pong' });
  });

  test('requests sent before the first answer share the connection session, and every result names it', async () => {
    const rpc = await open();
    const describeFrame = JSON.stringify({
      jsonrpc: '2.0',
      method: 'describe',
      params: { object: 'manager_ServerManager' },
      id: 1,
    });
    const createFrame = JSON.stringify({
      jsonrpc: '2.0',
      method: 'create',
      params: { type: 'MediaPipeline', properties: {} },
      id: 2,
    });
    const [described, created] = await Promise.all([rpc.send(describeFrame, 1), rpc.send(createFrame, 2)]);
    assert.equal(described.result?.type, 'ServerManager');
    assert.deepEqual(described.result?.hierarchy, ['kurento.MediaObject']);
    assert.ok(described.result?.sessionId);
    assert.equal(created.result?.sessionId, described.result?.sessionId);
    rpc.sessionId = created.result?.sessionId;
    const info = await rpc.ok('invoke', { object: 'manager_ServerManager', operation: 'getInfo' });
    assert.equal(info.sessionId, rpc.sessionId);
    assert.equal(info.value.type, 'KMS');
    const released = await rpc.ok('release', { object: created.result?.value });
    assert.deepEqual(released, { sessionId: rpc.sessionId });
  });

  test('describe reports the hierarchy of each element type', async () => {
    const rpc = await open();
    const pipeline = (await rpc.ok('create', { type: 'MediaPipeline' })).value;
    const webRtc = (await rpc.ok('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: pipeline } }))
      .value;
    const described = await rpc.ok('describe', { object: webRtc });
    assert.equal(described.qualifiedType, 'kurento.WebRtcEndpoint');
    assert.deepEqual(described.hierarchy, [
      'kurento.BaseRtpEndpoint',
      'kurento.SdpEndpoint',
      'kurento.SessionEndpoint',
      'kurento.Endpoint',
      'kurento.MediaElement',
      'kurento.MediaObject',
    ]);
    await rpc.ok('release', { object: pipeline });
  });

  test('a transaction runs its operations in order, resolves newref: and stops at the first failure', async () => {
    const rpc = await open();
    await rpc.ok('ping');
    const result = await rpc.ok('transaction', {
      operations: [
        { jsonrpc: '2.0', id: 0, method: 'create', params: { type: 'MediaPipeline', properties: {} } },
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'create',
          params: { type: 'PassThrough', constructorParams: { mediaPipeline: 'newref:0' } },
        },
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'invoke',
          params: { object: 'newref:1', operation: 'setName', operationParams: { name: 'pt' } },
        },
        { jsonrpc: '2.0', id: 3, method: 'invoke', params: { object: 'newref:1', operation: 'noSuchOperation' } },
        {
          jsonrpc: '2.0',
          id: 4,
          method: 'invoke',
          params: { object: 'newref:1', operation: 'setName', operationParams: { name: 'never' } },
        },
      ],
    });
    rpc.sessionId = result.sessionId;
    const responses = result.value as any[];
    assert.equal(responses.length, 4);
    assert.match(responses[1].result.value, /^.*_kurento\.MediaPipeline\/.*_kurento\.PassThrough$/);
    assert.equal(responses[3].error.code, 40105);
    const name = await rpc.ok('invoke', { object: responses[1].result.value, operation: 'getName' });
    assert.equal(name.value, 'pt');
    await rpc.ok('release', { object: responses[0].result.value });
  });

  test('events are delivered under the 7.x name and under a subscribed 6.x name', async () => {
    const rpc = await open();
    const pipeline = (await rpc.ok('create', { type: 'MediaPipeline' })).value;
    const create = async () =>
      (await rpc.ok('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: pipeline } })).value;
    const [offerer, answerer] = [await create(), await create()];
    await rpc.ok('subscribe', { object: answerer, type: 'IceCandidateFound' });
    await rpc.ok('subscribe', { object: answerer, type: 'OnIceCandidate' });
    await rpc.ok('subscribe', { object: answerer, type: 'OnIceGatheringDone' });
    const offer = (await rpc.ok('invoke', { object: offerer, operation: 'generateOffer', operationParams: {} })).value;
    await rpc.ok('invoke', { object: answerer, operation: 'processOffer', operationParams: { offer } });
    await rpc.ok('invoke', { object: answerer, operation: 'gatherCandidates' });
    await waitFor('IceGatheringDone under its 6.x name', () => rpc.events.some((e) => e.type === 'OnIceGatheringDone'));
    const found = rpc.events.filter((e) => e.type === 'IceCandidateFound');
    const legacy = rpc.events.filter((e) => e.type === 'OnIceCandidate');
    assert.ok(found.length > 0);
    assert.equal(legacy.length, found.length);
    assert.equal(legacy[0].data.type, 'OnIceCandidate');
    assert.equal(found[0].data.candidate.__type__, 'IceCandidate');
    assert.match(found[0].data.candidate.candidate, /^candidate:/);
    await rpc.ok('release', { object: pipeline });
  });

  test('externalIPv4 replaces the address of host candidates, as behind NAT', async () => {
    const rpc = await open();
    const pipeline = (await rpc.ok('create', { type: 'MediaPipeline' })).value;
    const create = async () =>
      (await rpc.ok('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: pipeline } })).value;
    const [offerer, answerer] = [await create(), await create()];
    await rpc.ok('invoke', {
      object: answerer,
      operation: 'setExternalIPv4',
      operationParams: { externalIPv4: '203.0.113.7' },
    });
    await rpc.ok('subscribe', { object: answerer, type: 'IceCandidateFound' });
    await rpc.ok('subscribe', { object: answerer, type: 'IceGatheringDone' });
    const offer = (await rpc.ok('invoke', { object: offerer, operation: 'generateOffer' })).value;
    const answer = (await rpc.ok('invoke', { object: answerer, operation: 'processOffer', operationParams: { offer } }))
      .value as string;
    await rpc.ok('invoke', { object: answerer, operation: 'gatherCandidates' });
    await waitFor('IceGatheringDone', () => rpc.events.some((e) => e.type === 'IceGatheringDone'));
    const candidates = rpc.events
      .filter((e) => e.type === 'IceCandidateFound')
      .map((e) => e.data.candidate.candidate as string);
    assert.ok(candidates.length > 0);
    assert.ok(
      candidates.every((c) => c.includes(' 203.0.113.7 ')),
      candidates.join('\n'),
    );
    assert.ok(
      answer
        .split('\n')
        .filter((l) => l.startsWith('a=candidate'))
        .every((l) => l.includes(' 203.0.113.7 ')),
    );
    await rpc.ok('release', { object: pipeline });
  });

  test('connect rebinds a known session and answers INVALID_SESSION for an unknown one', async () => {
    const rpc = await open();
    const pipeline = (await rpc.ok('create', { type: 'MediaPipeline' })).value;
    const sessionId = rpc.sessionId;
    await rpc.close();
    const again = await open();
    const connected = await again.ok('connect', { sessionId });
    assert.equal(connected.sessionId, sessionId);
    assert.ok(connected.serverId);
    again.sessionId = sessionId;
    await again.ok('describe', { object: pipeline });
    const unknown = await again.request('connect', { sessionId: 'no-such-session' });
    assert.equal(unknown.error?.code, 40007);
    assert.equal(unknown.error?.data?.type, 'INVALID_SESSION');
    await again.ok('release', { object: pipeline });
  });

  test('subscribe and unsubscribe never fail for a released object or an unknown subscription', async () => {
    const rpc = await open();
    const pipeline = (await rpc.ok('create', { type: 'MediaPipeline' })).value;
    const webRtc = (await rpc.ok('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: pipeline } }))
      .value;
    const subscription = (await rpc.ok('subscribe', { object: webRtc, type: 'MediaFlowInStateChanged' })).value;
    await rpc.ok('release', { object: webRtc });
    assert.ok(await rpc.ok('unsubscribe', { object: webRtc, subscription }));
    assert.ok((await rpc.ok('subscribe', { object: webRtc, type: 'IceCandidateFound' })).value);
    assert.ok(await rpc.ok('unsubscribe', { object: webRtc, subscription: 'no-such-subscription' }));
    await rpc.ok('release', { object: pipeline });
  });

  test('the ServerManager announces created and destroyed objects', async () => {
    const rpc = await open();
    await rpc.ok('subscribe', { object: 'manager_ServerManager', type: 'ObjectCreated' });
    await rpc.ok('subscribe', { object: 'manager_ServerManager', type: 'ObjectDestroyed' });
    const pipeline = (await rpc.ok('create', { type: 'MediaPipeline' })).value;
    await rpc.ok('release', { object: pipeline });
    await waitFor('ObjectDestroyed', () =>
      rpc.events.some((e) => e.type === 'ObjectDestroyed' && e.data.object === pipeline),
    );
    assert.ok(rpc.events.some((e) => e.type === 'ObjectCreated' && e.data.object === pipeline));
  });
});
