#!/usr/bin/env node
// Runs every test suite (a folder under tests/) with node's test runner and prints a closing summary.
// A suite whose service is missing is skipped with the reason, unless ONAIR_TEST_REQUIRE=all,
// where a missing service is a failure. Usage: npm test [-- suite-or-file ...]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const testsDir = path.join(root, 'tests');

/**
 * The services a test file needs, read from its `skipUnless(...)` calls (tests/support/services.ts): each file
 * declares its own needs, once, and a suite needs what its files need.
 */
function needsOf(file) {
  const needs = new Set();
  for (const call of readFileSync(file, 'utf8').matchAll(/skipUnless\(([^)]*)\)/g))
    for (const name of call[1].matchAll(/'([a-z]+)'/g)) needs.add(name[1]);
  return [...needs];
}

/** Suites that drive the built front end (front/dist), which is built once before them. */
const FRONT_SUITES = ['browser', 'live', 'recordings', 'calls', 'chat', 'whip'];

/**
 * `vite build` into a staging folder, then swapped in for front/dist, so that a server already serving
 * front/dist (another test run) never sees it half written. Exits the run if the build fails.
 */
function buildFront() {
  const started = Date.now();
  const staging = path.join(root, '.test-artifacts', `front-${process.pid}`);
  const dist = path.join(root, 'front', 'dist');
  const previous = path.join(root, '.test-artifacts', `front-old-${process.pid}`);
  console.log('  build   front end (vite build) for the browser suites');
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(
    process.execPath,
    [vite, 'build', '--logLevel', 'warn', '--outDir', staging, '--emptyOutDir'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    console.log('The front-end build (vite build) failed: see above. No test was run.');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  try {
    renameSync(dist, previous);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  renameSync(staging, dist);
  rmSync(previous, { recursive: true, force: true });
  console.log(`          built front/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function tcpOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
const hasCommand = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

async function probe() {
  const mariadbUrl = new URL(process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test');
  const redisUrl = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  return {
    mariadb:
      (await tcpOpen(Number(mariadbUrl.port || 3306), mariadbUrl.hostname)) || `no MariaDB/MySQL at ${mariadbUrl.host}`,
    redis: (await tcpOpen(Number(redisUrl.port || 6379), redisUrl.hostname)) || `no Redis at ${redisUrl.host}`,
    chromium: hasCommand('chromium') || 'chromium is not installed (apt-get install chromium)',
    ffmpeg: (hasCommand('ffmpeg') && hasCommand('ffprobe')) || 'ffmpeg is not installed (apt-get install ffmpeg)',
    registry:
      spawnSync('npm', ['view', 'npm@10', 'version'], { timeout: 20_000 }).status === 0 ||
      'the npm registry cannot be reached (the install suite runs npm ci with npm 10 and 11)',
    coturn: hasCommand('turnserver') || 'coturn is not installed (apt-get install coturn)',
  };
}

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...testFiles(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

// A bare suite name (`unit`) selects tests/<suite>; anything else is a path (a folder or a file).
const selectors = process.argv
  .slice(2)
  .map((a) =>
    /^[\w-]+$/.test(a) && statSync(path.join(testsDir, a), { throwIfNoEntry: false })?.isDirectory()
      ? path.join(testsDir, a)
      : path.resolve(a),
  );
const services = await probe();
const requireAll = process.env.ONAIR_TEST_REQUIRE === 'all';
const suites = readdirSync(testsDir)
  .filter((n) => n !== 'support' && statSync(path.join(testsDir, n)).isDirectory())
  .sort();

const plan = [];
const planSuites = new Set();
let missingRequired = false;
console.log('onair test suites');
for (const suite of suites) {
  let files = testFiles(path.join(testsDir, suite));
  if (selectors.length) files = files.filter((f) => selectors.some((s) => f === s || f.startsWith(s + path.sep)));
  if (files.length === 0) continue;
  const missing = [...new Set(files.flatMap(needsOf))].filter((s) => services[s] !== true).map((s) => services[s]);
  if (missing.length) {
    if (requireAll) missingRequired = true;
    console.log(`  ${requireAll ? 'FAILED ' : 'skipped'} ${suite} (${files.length} files): ${missing.join('; ')}`);
    continue;
  }
  console.log(`  run     ${suite} (${files.length} files)`);
  plan.push(...files);
  planSuites.add(suite);
}
if (plan.length === 0) {
  // node --test with no file would run every test file it finds: never that.
  console.log('No test file to run: none matches, or each match was skipped above.');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
if (missingRequired) {
  console.log('ONAIR_TEST_REQUIRE=all and a required service is missing: failing.');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const artifacts = path.join(root, '.test-artifacts');
mkdirSync(artifacts, { recursive: true });
if (FRONT_SUITES.some((suite) => planSuites.has(suite))) buildFront();
const summaryFile = path.join(artifacts, 'summary.json');
const available = Object.entries(services)
  .filter(([, v]) => v === true)
  .map(([k]) => k)
  .join(',');
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-timeout=240000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/summary-reporter.mjs',
    `--test-reporter-destination=${summaryFile}`,
    ...plan,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, ONAIR_TEST_SERVICES: available, NODE_ENV: 'test' } },
);
const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
let summary = { passed: 0, failed: 0, skipped: 0, files: 0 };
try {
  summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
} catch {
  /* runner died before reporting */
}
const failed = summary.failed + (code !== 0 && summary.failed === 0 ? 1 : 0);
// Each failure again, with what tells its cause (a test file's exit code or signal, activity after its tests
// ended, its last lines on stderr), for a log read from its end.
for (const f of summary.failures ?? []) {
  const where = f.file ? path.relative(root, f.file) : '';
  const exit = f.signal ? ` (signal ${f.signal})` : f.exitCode != null ? ` (exit code ${f.exitCode})` : '';
  console.log(`\nfailed: ${f.name === f.file ? where : `${where}: ${f.name}`}${exit}\n  ${f.message}`);
  for (const line of f.late ?? []) console.log(`  late: ${line}`);
  if (f.stderr?.length) console.log(`  its last lines on stderr:\n${f.stderr.map((l) => `    ${l}`).join('\n')}`);
}
console.log(`\n${plan.length} test files in ${suites.length} suites`);
console.log(`${summary.passed} passed, ${failed} failed, ${summary.skipped} skipped`);
process.exit(code !== 0 || failed > 0 || summary.passed === 0 ? 1 : 0);
