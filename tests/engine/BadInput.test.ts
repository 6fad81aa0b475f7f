/**
 * Bad input on the wire: each gets the right Kurento or JSON-RPC error code, and the engine keeps
 * serving (every test ends with a ping on the same connection and the leak check).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { skipUnless } from '../support/services.js';
import { assertBackToBaseline, useTestEngine } from './helpers/engineHarness.js';
import { RawRpc } from './helpers/RawRpc.js';

const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_OBJECTS = 8;

describe('bad input', { skip: skipUnless('chromium', 'ffmpeg') }, () => {
  const fixture = useTestEngine({
    env: { ENGINE_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), ENGINE_MAX_OBJECTS_PER_SESSION: String(MAX_OBJECTS) },
  });
  let rpc: RawRpc;

  const frame = (body: unknown) => JSON.stringify(body);
  const pipelineWith = async (...types: string[]) => {
    const pipeline = (await rpc.ok('create', { type: 'MediaPipeline' })).value as string;
    const elements: string[] = [];
    for (const type of types)
      elements.push((await rpc.ok('create', { type, constructorParams: { mediaPipeline: pipeline } })).value);
    return { pipeline, elements };
  };

  afterEach(async () => {
    assert.deepEqual((await rpc.request('ping')).result, { value: 'pong' }, 'the connection still serves');
    await rpc.close();
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test('malformed JSON is a parse error (-32700)', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    const response = await rpc.send('{"jsonrpc":"2.0","method":"ping","id":1', null);
    assert.equal(response.error?.code, -32700);
  });

  test('JSON that is not a JSON-RPC 2.0 request is an invalid request (-32600)', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    assert.equal((await rpc.send('[1,2,3]', null)).error?.code, -32600);
    assert.equal((await rpc.send(frame({ method: 'ping', id: 5 }), 5)).error?.code, -32600);
    assert.equal((await rpc.send(frame({ jsonrpc: '2.0', method: 17, id: 6 }), 6)).error?.code, -32600);
    assert.equal(
      (await rpc.send(frame({ jsonrpc: '2.0', method: 'create', params: 'x', id: 7 }), 7)).error?.code,
      -32602,
    );
  });

  test('an unknown method is method-not-found (-32601)', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    assert.equal((await rpc.request('dance')).error?.code, -32601);
  });

  test('unknown types, objects, operations and events get their Kurento codes', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    assert.equal((await rpc.request('create', { type: 'Composite' })).error?.code, 40100);
    assert.equal((await rpc.request('describe', { object: 'nope_kurento.MediaPipeline' })).error?.code, 40101);
    assert.equal(
      (await rpc.request('invoke', { object: 'nope_kurento.MediaPipeline', operation: 'getName' })).error?.code,
      40101,
    );
    assert.equal((await rpc.request('release', { object: 'nope_kurento.MediaPipeline' })).error?.code, 40101);
    assert.equal((await rpc.request('subscribe', { object: 'garbage', type: 'Error' })).error?.code, 40101);
    const { pipeline, elements } = await pipelineWith('PassThrough');
    assert.equal((await rpc.request('invoke', { object: elements[0], operation: 'fly' })).error?.code, 40105);
    assert.equal(
      (await rpc.request('subscribe', { object: elements[0], type: 'IceCandidateFound' })).error?.code,
      40106,
    );
    const missing = await rpc.request('create', {
      type: 'PassThrough',
      constructorParams: { mediaPipeline: `${pipeline}x` },
    });
    assert.equal(missing.error?.code, 40101);
    await rpc.ok('release', { object: pipeline });
  });

  test('wrong parameter types are marshalling errors (40001)', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    assert.equal((await rpc.request('create', { type: 42 })).error?.code, 40001);
    assert.equal(
      (await rpc.request('create', { type: 'PassThrough', constructorParams: { mediaPipeline: 7 } })).error?.code,
      40001,
    );
    const { pipeline, elements } = await pipelineWith('WebRtcEndpoint');
    const [webRtc] = elements;
    assert.equal((await rpc.request('invoke', { object: webRtc, operation: 7 })).error?.code, 40001);
    assert.equal(
      (await rpc.request('invoke', { object: webRtc, operation: 'setName', operationParams: { name: 3 } })).error?.code,
      40001,
    );
    assert.equal(
      (await rpc.request('invoke', { object: webRtc, operation: 'processOffer', operationParams: { offer: {} } })).error
        ?.code,
      40001,
    );
    assert.equal(
      (
        await rpc.request('invoke', {
          object: webRtc,
          operation: 'connect',
          operationParams: { sink: webRtc, mediaType: 'SMELL' },
        })
      ).error?.code,
      40001,
    );
    const tx = await rpc.request('transaction', { operations: 'all of them' });
    assert.equal(tx.error?.code, 40008);
    await rpc.ok('release', { object: pipeline });
  });

  test('an oversized message gets an error with its id; a huge frame closes only that connection', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    const big = frame({ jsonrpc: '2.0', method: 'ping', params: { pad: 'x'.repeat(MAX_MESSAGE_BYTES) }, id: 41 });
    const response = await rpc.send(big, 41);
    assert.equal(response.error?.code, -32600);
    assert.match(response.error?.message ?? '', /too large/);
    const victim = new WebSocket(fixture.engine.uri);
    await new Promise((resolve) => victim.once('open', resolve));
    const closed = new Promise<number>((resolve) => victim.once('close', (code) => resolve(code)));
    victim.send('x'.repeat(MAX_MESSAGE_BYTES * 5));
    assert.equal(await closed, 1009);
  });

  test('a binary frame is an invalid request', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    const response = await rpc.send(Buffer.from(frame({ jsonrpc: '2.0', method: 'ping', id: 3 })), null);
    assert.equal(response.error?.code, -32600);
  });

  test('garbage and out-of-order SDP get SDP error codes', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    const { pipeline, elements } = await pipelineWith('WebRtcEndpoint', 'WebRtcEndpoint', 'WebRtcEndpoint');
    const [a, b, c] = elements;
    const invoke = (object: string | undefined, operation: string, operationParams: object = {}) =>
      rpc.request('invoke', { object, operation, operationParams });
    assert.equal((await invoke(a, 'processOffer', { offer: 'hello' })).error?.code, 40201);
    assert.equal((await invoke(a, 'processOffer', { offer: '' })).error?.code, 40201);
    assert.equal((await invoke(a, 'processOffer', {})).error?.code, 40201);
    assert.equal((await invoke(a, 'processOffer', { offer: 'v=0\r\nm=audio 9 RTP/AVP 0\r\n' })).error?.code, 40201);
    assert.equal(
      (await invoke(a, 'processAnswer', { answer: 'v=0\r\nm=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256 00\r\n' })).error
        ?.code,
      40209,
    );
    assert.equal((await invoke(a, 'getLocalSessionDescriptor')).error?.code, 40202);
    const offer = (await invoke(b, 'generateOffer')).result?.value;
    const pcmuOnly = offer.replace(/opus\/48000\/2/, 'PCMU/8000').replace(/VP8\/90000/, 'VP9/90000');
    assert.equal((await invoke(a, 'processOffer', { offer: pcmuOnly })).error?.code, 40205);
    assert.ok((await invoke(c, 'processOffer', { offer })).result?.value.startsWith('v=0'));
    assert.equal((await invoke(c, 'processOffer', { offer })).error?.code, 40208);
    await rpc.ok('release', { object: pipeline });
  });

  test('ICE candidates: garbage is refused, a released endpoint is not found, the queue is bounded', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    const { pipeline, elements } = await pipelineWith('WebRtcEndpoint', 'WebRtcEndpoint', 'WebRtcEndpoint');
    const [offerer, answerer, early] = elements;
    const candidate = (text: string) => ({
      candidate: { candidate: text, sdpMid: '0', sdpMLineIndex: 0, __module__: 'kurento', __type__: 'IceCandidate' },
    });
    const add = (object: string | undefined, text: string) =>
      rpc.request('invoke', { object, operation: 'addIceCandidate', operationParams: candidate(text) });
    const offer = (await rpc.ok('invoke', { object: offerer, operation: 'generateOffer' })).value;
    await rpc.ok('invoke', { object: answerer, operation: 'processOffer', operationParams: { offer } });
    assert.equal((await add(answerer, 'candidate:garbage')).error?.code, 40401);
    assert.ok((await add(answerer, 'candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host')).result);
    const missing = await rpc.request('invoke', {
      object: answerer,
      operation: 'addIceCandidate',
      operationParams: { candidate: 'x' },
    });
    assert.equal(missing.error?.code, 40001);
    for (let i = 0; i < 100; i++) await add(early, `candidate:${i} 1 udp 2113937151 127.0.0.1 ${40000 + i} typ host`);
    assert.equal((await add(early, 'candidate:x 1 udp 2113937151 127.0.0.1 50001 typ host')).error?.code, 40401);
    await rpc.ok('release', { object: answerer });
    assert.equal((await add(answerer, 'candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host')).error?.code, 40101);
    await rpc.ok('release', { object: pipeline });
  });

  test('a session cannot create more objects than its limit (40009)', async () => {
    rpc = await RawRpc.open(fixture.engine.uri);
    const { pipeline } = await pipelineWith(...Array.from({ length: MAX_OBJECTS - 1 }, () => 'PassThrough'));
    const refused = await rpc.request('create', {
      type: 'PassThrough',
      constructorParams: { mediaPipeline: pipeline },
    });
    assert.equal(refused.error?.code, 40009);
    await rpc.ok('release', { object: pipeline });
    const again = (await rpc.ok('create', { type: 'MediaPipeline' })).value;
    await rpc.ok('release', { object: again });
  });
});
