// A copy of this project as a user would have it after `git clone`: the tracked files (and new ones not yet
// committed) in a fresh `mktemp -d`, which is mode 700 like root's home. node_modules comes as hard links (the
// same file system) so `npm start` does not reinstall; the lock file keeps its time so ensure-deps agrees.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../core/config.ts';

export interface ProjectCopy {
  /** The mode-700 temp folder. */
  parent: string;
  /** The copy of the project inside it. */
  root: string;
  remove(): void;
}

export function copyProject(): ProjectCopy {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-clone-'));
  const root = path.join(parent, 'ml');
  fs.mkdirSync(root);
  let files: string[];
  try {
    files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\0')
      .filter((f) => f && fs.existsSync(path.join(PROJECT_ROOT, f)));
  } catch {
    // Not a git checkout (a copied tree): everything but what is installed, built or run.
    files = fs.readdirSync(PROJECT_ROOT).filter((f) => !['node_modules', 'var', 'build', '.git'].includes(f));
  }
  execFileSync('cp', ['-a', '--parents', '-t', root, ...files], { cwd: PROJECT_ROOT });
  try {
    execFileSync('cp', ['-al', path.join(PROJECT_ROOT, 'node_modules'), root]);
  } catch {
    execFileSync('cp', ['-a', path.join(PROJECT_ROOT, 'node_modules'), root]);
  }
  return { parent, root, remove: () => fs.rmSync(parent, { recursive: true, force: true }) };
}

export interface RunningCommand {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Run a command in its own process group, output collected; used for npm start / npm stop of a copy. */
export function runIn(cwd: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): RunningCommand {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => out, exited };
}
