/**
 * Whether a module is the script node was started with (`node --import tsx src/server.ts`), as
 * opposed to imported (by the `cairn` CLI). Symlinks resolved on both sides, so a linked checkout
 * still counts.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function isEntry(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(resolve(script));
  } catch {
    return false;
  }
}
