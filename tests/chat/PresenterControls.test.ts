/**
 * Presenter controls through the UI, in real Chromium with the embedded media engine: camera and microphone off
 * (the viewer sees the "camera off" card and a muted badge, also after a reload), and a screen share switched in
 * and out by replaceTrack that the viewer decodes. Headless Chromium's own screen capture looks like its fake
 * camera, so the presenter's getDisplayMedia gives a square canvas capture of a known colour (magenta) instead: it is
 * still a real track, encoded, sent through the engine, decoded by the viewer, and recorded (checked frame by frame
 * with ffmpeg: the screen's colour and square shape between the camera's 16:9 frames).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { useBrowserApp } from '../support/browserApp.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const WAIT = { timeout: 30_000 };
const ARTIFACTS = path.resolve('.test-artifacts');

const MAGENTA_SCREEN = `(() => {
  navigator.mediaDevices.getDisplayMedia = async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 480;
    canvas.height = 480;
    const g = canvas.getContext('2d');
    let n = 0;
    setInterval(() => {
      g.fillStyle = '#ff00ff';
      g.fillRect(0, 0, 480, 480);
      g.fillStyle = '#ffffff';
      g.fillRect((n++ * 7) % 440, 220, 40, 40);
    }, 33);
    return canvas.captureStream(30);
  };
})();`;

/** The average colour of what a video shows now, as [r, g, b]. */
const AVERAGE_COLOUR = `(selector) => {
  const v = document.querySelector(selector);
  const c = document.createElement('canvas');
  c.width = 64;
  c.height = 36;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, 64, 36);
  const d = g.getImageData(0, 0, 64, 36).data;
  let r = 0, gr = 0, b = 0;
  for (let i = 0; i < d.length; i += 4) { r += d[i]; gr += d[i + 1]; b += d[i + 2]; }
  const n = d.length / 4;
  return [r / n, gr / n, b / n];
}`;

describe('presenter controls through the UI', { skip: skipUnless('chromium', 'mariadb') }, () => {
  const app = useBrowserApp();
  before(() => mkdirSync(ARTIFACTS, { recursive: true }));

  const pageOf = (user: SignedInUser, init?: string): Promise<Page> =>
    app.page({ user, init: init ? [init] : [], viewport: { width: 1280, height: 900 } });

  const colour = (page: Page) =>
    page.evaluate<[number, number, number]>(`(${AVERAGE_COLOUR})('[data-testid="watch-video"]')`);
  const isMagenta = ([r, g, b]: number[]) => r! > 150 && b! > 150 && g! < 110;
  const isGreen = ([r, g, b]: number[]) => g! > 100 && r! < 90 && b! < 90;

  it('camera and microphone off show the viewer a "camera off" card; a screen share switches in and out, is decoded, and is recorded as sent', async () => {
    const presenter = await registerUser(app.server.url);
    const viewer = await registerUser(app.server.url);
    const studio = await pageOf(presenter, MAGENTA_SCREEN);
    await studio.goto('/go-live');
    await studio.getByTestId('live-title').fill('Controls');
    await studio.getByTestId('start-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="live"]').waitFor(WAIT);
    const link = await studio.getByTestId('watch-link').inputValue();

    const watching = await pageOf(viewer);
    await watching.goto(link);
    await watching.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
    await watching.getByTestId('chat').waitFor(WAIT);
    await waitFor(async () => isGreen(await colour(watching)), 'the camera picture', { timeoutMs: 30_000 });
    assert.equal(await watching.getByTestId('camera-off').count(), 0);

    // Camera off, then the microphone too: the card with the presenter's name, then its muted badge.
    await studio.getByTestId('toggle-camera').click();
    const card = watching.getByTestId('camera-off');
    await card.waitFor(WAIT);
    assert.ok((await card.textContent())?.includes(presenter.nickname));
    assert.equal(await watching.getByTestId('camera-off-muted').count(), 0);
    await studio.getByTestId('toggle-microphone').click();
    await watching.getByTestId('camera-off-muted').waitFor(WAIT);
    await studio.getByTestId('camera-off').waitFor(WAIT);
    await watching.screenshot({ path: path.join(ARTIFACTS, 'chat-camera-off.png') });

    // A viewer who comes (back) now sees it too.
    await watching.reload();
    await watching.locator('[data-testid="watch-status"][data-stage="playing"]').waitFor(WAIT);
    await watching.getByTestId('camera-off-muted').waitFor(WAIT);

    // Camera back on, microphone still off: the card goes, a muted badge stays; then sound back.
    await studio.getByTestId('toggle-camera').click();
    await card.waitFor({ state: 'detached', ...WAIT });
    await watching.getByTestId('presenter-muted').waitFor(WAIT);
    await studio.getByTestId('toggle-microphone').click();
    await watching.getByTestId('presenter-muted').waitFor({ state: 'detached', ...WAIT });
    await waitFor(async () => isGreen(await colour(watching)), 'the camera picture again', { timeoutMs: 30_000 });

    // Screen share: the viewer decodes the screen, then the camera again, on the same connection.
    const framesBefore = await watching.evaluate(
      `document.querySelector('[data-testid="watch-video"]').getVideoPlaybackQuality().totalVideoFrames`,
    );
    await studio.getByTestId('toggle-screen').click();
    await studio.getByTestId('toggle-screen').filter({ hasText: 'Stop sharing' }).waitFor(WAIT);
    await waitFor(async () => isMagenta(await colour(watching)), 'the viewer to decode the screen', {
      timeoutMs: 30_000,
    });
    assert.equal(await card.count(), 0, 'a shared screen is not a camera off');
    await watching.screenshot({ path: path.join(ARTIFACTS, 'chat-screen-share.png') });
    await studio.getByTestId('toggle-screen').click();
    await waitFor(async () => isGreen(await colour(watching)), 'the viewer to decode the camera again', {
      timeoutMs: 30_000,
    });
    const framesAfter = await watching.evaluate(
      `document.querySelector('[data-testid="watch-video"]').getVideoPlaybackQuality().totalVideoFrames`,
    );
    assert.ok(Number(framesAfter) > Number(framesBefore), 'the same video element kept decoding');
    assert.equal(await watching.getByTestId('watch-status').getAttribute('data-stage'), 'playing');

    // The device picker: another microphone while live, swapped in without renegotiation.
    await studio.getByTestId('pick-microphone').click();
    const options = studio.getByTestId('microphone-option');
    await options.first().waitFor(WAIT);
    const labels = await options.allTextContents();
    assert.ok(labels.length >= 2, `microphones offered: ${labels.join(', ')}`);
    const current = (await studio.getByTestId('pick-microphone').textContent())?.trim() ?? '';
    const other = labels.find((label) => label.trim() !== current && !current.includes(label.trim()))!;
    await options.filter({ hasText: other }).first().click();
    await studio.getByTestId('pick-microphone').filter({ hasText: other }).waitFor(WAIT);
    assert.equal(await studio.getByRole('alert').count(), 0, 'no device error');
    await waitFor(async () => isGreen(await colour(watching)), 'the viewer still decoding', { timeoutMs: 30_000 });
    assert.equal(await watching.getByTestId('watch-status').getAttribute('data-stage'), 'playing');
    await studio.screenshot({ path: path.join(ARTIFACTS, 'chat-golive-controls.png') });

    await studio.getByTestId('stop-live').click();
    await studio.locator('[data-testid="live-status"][data-stage="ended"]').waitFor(WAIT);

    // Recorded as sent: decoded frame by frame, the recording goes from the camera to the shared screen (its colour
    // and shape) and back to the camera.
    const liveId = new URL(link).pathname.split('/').pop()!;
    const services = app.server.server.services as typeof app.server.server.services & {
      recordings: { finaliser: { idle(): Promise<void> } };
    };
    const row = await waitFor(
      () => app.server.server.db.Recording.findOne({ where: { liveId, status: 'ready' } }),
      'the recording',
    );
    await services.recordings.finaliser.idle();
    const frames = await decodedFrames(path.join(app.server.config.recordingsDir, row.fileName));
    const kinds = frames.map((f) => (isMagenta(f.rgb) ? 'screen' : isGreen(f.rgb) ? 'camera' : 'other'));
    const firstScreen = kinds.indexOf('screen');
    const lastScreen = kinds.lastIndexOf('screen');
    assert.ok(firstScreen > 0, `the screen is in the recording (${frames.length} frames)`);
    assert.ok(kinds.slice(0, firstScreen).includes('camera'), 'the camera before it');
    assert.ok(kinds.slice(lastScreen + 1).includes('camera'), 'the camera after it');
    // The sender may scale a picture down, never change its shape: the screen is square, the camera 16:9.
    const sizes = (kind: string) =>
      [...new Set(frames.filter((_, i) => kinds[i] === kind).map((f) => `${f.width}x${f.height}`))].join(', ');
    const square = (f: { width: number; height: number }) => f.width === f.height;
    assert.ok(
      frames.every((f, i) => kinds[i] !== 'screen' || square(f)),
      `the screen's frames are square (${sizes('screen')})`,
    );
    assert.ok(
      frames.every((f, i) => kinds[i] !== 'camera' || !square(f)),
      `the camera's are not (${sizes('camera')})`,
    );
  });
});

/** Every video frame of a file, decoded by ffmpeg: its size, and its average colour. */
async function decodedFrames(file: string): Promise<Array<{ width: number; height: number; rgb: number[] }>> {
  const sizes = (
    await run('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'frame=width,height',
      '-of',
      'csv=p=0',
      file,
    ])
  )
    .toString()
    .trim()
    .split('\n')
    .map((line) => line.split(',').map(Number) as [number, number]);
  const raw = await run('ffmpeg', [
    '-v',
    'error',
    '-i',
    file,
    '-map',
    '0:v:0',
    '-fps_mode',
    'passthrough',
    '-vf',
    'scale=1:1:flags=area',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
  assert.equal(raw.length, sizes.length * 3, 'one colour per frame');
  return sizes.map(([width, height], i) => ({ width, height, rgb: [raw[i * 3]!, raw[i * 3 + 1]!, raw[i * 3 + 2]!] }));
}

function run(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
}
