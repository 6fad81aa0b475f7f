// A node:test reporter that counts leaf tests and writes one JSON object: { passed, failed, skipped, failures }.
// Each failure keeps what the closing summary needs to tell its cause without the whole log: the test, its file,
// the first line of its error, the exit code or signal of a test file's process, the diagnostics that name
// activity after a test ended, and the last lines that file's process wrote to stderr.
const STDERR_LINES = 20;

export default async function* summaryReporter(source) {
  let passed = 0,
    failed = 0,
    skipped = 0;
  const failures = [];
  /** Per file: the last lines of stderr, and the diagnostics about late activity. */
  const stderr = new Map();
  const late = new Map();
  const keep = (map, file, line, most) => {
    if (!file) return;
    const lines = map.get(file) ?? [];
    lines.push(line);
    if (lines.length > most) lines.shift();
    map.set(file, lines);
  };
  for await (const event of source) {
    if (event.type === 'test:stderr') {
      for (const line of String(event.data.message).split('\n'))
        if (line.trim()) keep(stderr, event.data.file, line, STDERR_LINES);
      continue;
    }
    if (event.type === 'test:diagnostic' && /after the test ended/.test(event.data.message)) {
      keep(late, event.data.file, event.data.message, 5);
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else {
      failed++;
      const error = event.data.details?.error;
      const cause = error?.cause;
      const message = String((cause instanceof Error ? cause.message : cause) ?? error?.message ?? 'failed');
      failures.push({
        name: event.data.name,
        file: event.data.file,
        message: message.split('\n')[0].slice(0, 300),
        ...(error?.exitCode != null ? { exitCode: error.exitCode } : {}),
        ...(error?.signal ? { signal: error.signal } : {}),
      });
    }
  }
  for (const failure of failures) {
    if (late.has(failure.file)) failure.late = late.get(failure.file);
    if (stderr.has(failure.file)) failure.stderr = stderr.get(failure.file);
  }
  yield JSON.stringify({ passed, failed, skipped, failures }) + '\n';
}
