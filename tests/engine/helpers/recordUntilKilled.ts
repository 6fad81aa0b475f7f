/**
 * Child process for the crash test: plays a clip into a WEBM recorder and reports the recorded duration on stdout
 * ("recorded <ms>") until its parent kills it. Usage: tsx recordUntilKilled.ts <clip> <output>
 */
import { WebmPlayer } from '../../../media/engine/recording/WebmPlayer.js';
import { WebmRecorder } from '../../../media/engine/recording/WebmRecorder.js';

const [clip, output] = process.argv.slice(2);
if (!clip || !output) throw new TypeError('usage: recordUntilKilled.ts <clip> <output>');
const player = await WebmPlayer.open(clip);
const recorder = new WebmRecorder({ path: output, profile: 'WEBM', requestKeyframe: () => undefined });
await recorder.start();
player.on('rtp', (packet, track) => recorder.writeRtp(packet, track));
player.on('end', () => process.exit(3)); // never outlive the clip, killed or not
process.stdout.on('error', () => process.exit(4)); // the parent stopped listening
player.play();
setInterval(() => process.stdout.write(`recorded ${recorder.durationMs}\n`), 100);
