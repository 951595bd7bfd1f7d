// The mirrorlane CLI run in-process, with its output captured: what every CLI test needs.
import assert from 'node:assert/strict';
import { runCli } from '../../cli/main.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCaptured(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env });
  return { code, out, err };
}

/** A command that must succeed; its stderr is part of the message when it does not. Returns stdout. */
export async function runOk(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runCaptured(args, env);
  assert.equal(r.code, 0, `mirrorlane ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}
