/**
 * What a process holds, read from Linux's /proc (for benchmarks that watch other processes): resident memory,
 * CPU time, and the UDP sockets among its file descriptors (matched by inode against /proc/net/udp and udp6).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Resident set size in bytes (VmRSS); 0 when the process is gone. */
export async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Anonymous resident memory in bytes (RssAnon: the heap and malloc's arenas, not mapped files); 0 when gone. */
export async function rssAnonBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** User + system CPU time in clock ticks (1/100 s on Linux); 0 when the process is gone. */
export async function cpuTicks(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The inodes of every UDP socket open on this host (IPv4 and IPv6). */
async function udpInodes(): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode && inode !== '0') inodes.add(inode);
    }
  }
  return inodes;
}

/** How many UDP sockets each process holds open (a process that is gone holds 0). */
export async function udpSockets(pids: number[]): Promise<Map<number, number>> {
  const udp = await udpInodes();
  const counts = new Map<number, number>();
  for (const pid of pids) {
    let n = 0;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && udp.has(inode)) n += 1;
    }
    counts.set(pid, n);
  }
  return counts;
}

/** A command-line number in (0, max]; anything else ends the bench with its name and the option's. */
export function positiveArg(bench: string, name: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    console.error(`${bench}: --${name} must be a number in (0, ${max}], not ${value}`);
    process.exit(2);
  }
  return n;
}
