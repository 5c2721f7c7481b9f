/**
 * Runs the real `cairn` CLI as a child process and checks its failures the way scripts see them.
 * Shared by test/cli.test.ts and test/cli-data.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withoutCairnSettings } from './process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** This process's environment minus every Cairn setting, plus the given ones. */
export function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...withoutCairnSettings(), ...extra };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `cairn <args>` (through src/cli/main.ts, or the package's bin/cairn.js launcher). */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, options: { viaBin?: boolean; stdin?: string } = {}): { child: ChildProcess; done: Promise<Run> } {
  const argv = options.viaBin ? [join(ROOT, 'bin/cairn.js'), ...args] : ['--import', 'tsx', 'src/cli/main.ts', ...args];
  const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  live.add(child);
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code) => {
      live.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}

/** A failure as scripts see it: the exit code, nothing on stdout, one `cairn: ...` line on stderr. */
export function assertFails(r: Run, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^cairn: [^\n]+\n$/, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\bat .+:\d+:\d+/, 'no stack trace');
}
