#!/usr/bin/env node
// Launcher for the `mirrorlane` command, from any directory: the bundled CLI (npm start and npm test build it)
// with plain node while it is up to date, else cli/main.ts under the project's own tsx.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshCliBundle } from './cli-bundle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = freshCliBundle();
// Resolved from this file, so the tsx of this project is used whatever the current directory is.
const entry = bundle ? [bundle] : ['--import', import.meta.resolve('tsx'), path.join(here, '..', 'cli', 'main.ts')];

const child = spawn(process.execPath, [...entry, ...process.argv.slice(2)], { stdio: 'inherit' });

// A terminal's Ctrl-C reaches both processes; a signal sent to this process alone (kill PID) is passed on.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}

child.on('error', (e) => {
  process.stderr.write(`mirrorlane: cannot start node: ${e.message}\n`);
  process.exit(1);
});

child.on('exit', (code, signal) => {
  if (signal) {
    // Die of the same signal, so callers see what happened; fall back to the shell's 128+n convention.
    process.exitCode = 1; // in case the signal does not end this process
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code ?? 1);
  }
});
