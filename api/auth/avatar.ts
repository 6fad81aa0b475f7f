/**
 * A user's default avatar: a symmetric 5x5 identicon, SVG, drawn from the user's avatar seed.
 * It holds no user text (nothing to escape) and is the same every time for the same seed.
 */
import { createHash } from 'node:crypto';

const GRID = 5;
const CELL = 14;
const PAD = 13;
const SIZE = GRID * CELL + 2 * PAD;

export function avatarSvg(seed: string): string {
  const bytes = createHash('sha256').update(`onair-avatar:${seed}`).digest();
  const hue = ((bytes[0]! << 8) | bytes[1]!) % 360;
  const fg = `hsl(${hue} 62% 48%)`;
  const bg = `hsl(${hue} 70% 94%)`;
  const cells: string[] = [];
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < Math.ceil(GRID / 2); col++) {
      if ((bytes[2 + row * 3 + col]! & 1) === 0) continue;
      for (const x of new Set([col, GRID - 1 - col])) {
        cells.push(`<rect x="${PAD + x * CELL}" y="${PAD + row * CELL}" width="${CELL}" height="${CELL}"/>`);
      }
    }
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SIZE} ${SIZE}" width="${SIZE}" height="${SIZE}">` +
    `<rect width="${SIZE}" height="${SIZE}" rx="${SIZE / 2}" fill="${bg}"/>` +
    `<g fill="${fg}">${cells.join('')}</g></svg>`
  );
}
