#!/usr/bin/env node
// Builds the embedded engine's optional native addon (media/engine/native: SRTP sealing and sending for the fan-out)
// with node-gyp, against the headers of the Node that runs this script. Usage: npm run build:native
// Needs python3, make and a C compiler (Debian: apt-get install python3 make g++). Without the addon the engine
// runs the same, on node:crypto and dgram, at more CPU per viewer. N-API: one build serves every supported Node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const addonDir = path.join(root, 'media', 'engine', 'native');

/** npm tells its scripts where its own node-gyp is; run directly, look for it beside npm. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp))
    return process.env.npm_config_node_gyp;
  for (const npmDir of [path.resolve(process.execPath, '../../lib/node_modules/npm'), '/usr/lib/node_modules/npm']) {
    try {
      return createRequire(path.join(npmDir, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
    } catch {
      // not there
    }
  }
  return undefined;
}

/** The running Node's own headers (an official tarball, the Docker image, Debian's nodejs-dev), if it has them. */
function nodeDir() {
  for (const dir of [path.resolve(process.execPath, '../..'), '/usr'])
    if (existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  return undefined;
}

const gyp = nodeGyp();
if (!gyp) {
  console.error('build:native: node-gyp was not found (it comes with npm: run this as `npm run build:native`)');
  process.exit(1);
}
const dir = nodeDir();
const args = [gyp, 'rebuild', '--directory', addonDir, '--loglevel', 'warn', ...(dir ? [`--nodedir=${dir}`] : [])];
console.log(
  `build:native: node-gyp rebuild in media/engine/native (Node ${process.version}, headers: ${dir ?? 'download'})`,
);
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (result.status !== 0) {
  console.error('build:native: the build failed (see above); the engine still runs, without the native fast path');
  process.exit(result.status ?? 1);
}
const addon = path.join(addonDir, 'build', 'Release', 'srtp_send.node');
// Loading it here proves it links against this Node's OpenSSL, not only that it compiled.
const loaded = createRequire(import.meta.url)(addon);
if (typeof loaded.sealTo !== 'function') {
  console.error(`build:native: ${addon} does not export sealTo`);
  process.exit(1);
}
console.log(`build:native: built ${path.relative(root, addon)}`);
