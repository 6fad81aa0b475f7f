/**
 * Measures a decoded socket.io payload without recursion (JSON.stringify of a deeply nested value throws a
 * RangeError): its approximate JSON size in characters and its nesting depth, stopping at the first bound passed.
 */
export type PayloadProblem = 'tooLarge' | 'tooDeep' | null;

export function payloadProblem(value: unknown, maxChars: number, maxDepth: number): PayloadProblem {
  let chars = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item === 'string') chars += item.length + 2;
    else if (item === null || typeof item !== 'object') chars += 8;
    else {
      if (depth >= maxDepth) return 'tooDeep';
      chars += 2;
      if (Array.isArray(item)) {
        for (const child of item) {
          chars += 1;
          stack.push([child, depth + 1]);
        }
      } else if (Buffer.isBuffer(item) || ArrayBuffer.isView(item)) {
        chars += item.byteLength;
      } else {
        for (const [key, child] of Object.entries(item)) {
          chars += key.length + 4;
          stack.push([child, depth + 1]);
        }
      }
    }
    if (chars > maxChars) return 'tooLarge';
  }
  return null;
}
