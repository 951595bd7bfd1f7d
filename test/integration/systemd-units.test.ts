// The units of `mirrorlane systemd print|install`, checked by systemd itself (`systemd-analyze verify`): every key
// known, every command executable, the template instantiated for each sidecar.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runCaptured, runOk } from '../helpers/cli-run.ts';

const execFileP = promisify(execFile);
const ANALYZE = '/usr/bin/systemd-analyze';

let dir: string;
let env: NodeJS.ProcessEnv;
let configFile: string;

/** systemd-analyze verify: exit code and everything it said (unknown keys are only warnings, with exit 0). */
async function verify(cwd: string, units: string[]): Promise<{ code: number; said: string }> {
  try {
    const r = await execFileP(ANALYZE, ['verify', ...units.map((u) => `./${u}`)], { cwd, timeout: 60_000 });
    return { code: 0, said: (r.stdout + r.stderr).trim() };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, said: `${x.stdout ?? ''}${x.stderr ?? ''}`.trim() };
  }
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlane-systemd-'));
  configFile = path.join(dir, 'mirrorlane.json');
  fs.writeFileSync(configFile, JSON.stringify({ varDir: path.join(dir, 'var'), sidecar: { processes: 3 } }));
  env = { MIRRORLANE_CONFIG: configFile, PATH: process.env.PATH };
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const canVerify = fs.existsSync(ANALYZE) ? false : `${ANALYZE} is not installed (apt-get install systemd)`;

describe('systemd units', () => {
  it('print names every unit, runs the sidecars of the config from one template, and the probe loop', async () => {
    const out = await runOk(['systemd', 'print'], env);
    for (const name of ['mirrorlane.target', 'mirrorlane-sidecar@.service', 'mirrorlane-probe.service', 'mirrorlane-scan-mirrors.timer', 'mirrorlane-scan-origin.timer']) {
      assert.match(out, new RegExp(`^# ---- ${name.replace(/[.@]/g, '\\$&')} ----$`, 'm'));
    }
    assert.match(out, /^Wants=mirrorlane-sidecar@1\.service mirrorlane-sidecar@2\.service mirrorlane-sidecar@3\.service mirrorlane-probe\.service/m);
    assert.match(out, new RegExp(`^ExecStart=\\S+ \\S+/bin/mirrorlane\\.js --config ${configFile.replace(/[.]/g, '\\.')} serve --instance %i --no-scheduler$`, 'm'));
    assert.match(out, /^ExecStart=.* probe --watch$/m);
    assert.match(out, /^ExecStart=.* scan --all$/m);
    assert.match(out, /^ExecStart=.* origin scan$/m);
    assert.match(out, /^SyslogIdentifier=mirrorlane-sidecar$/m);
  });

  it('without --config they are refused: they would run the demo', async () => {
    const r = await runCaptured(['systemd', 'print'], { PATH: process.env.PATH });
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: the units run your own setup: give --config FILE/);
    const bad = await runCaptured(['systemd', 'print', '--scan-every', 'often'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--scan-every must be a systemd time span/);
  });

  it('install writes them; systemd-analyze verify accepts every one, and would catch a bad key', { skip: canVerify }, async () => {
    const unitDir = path.join(dir, 'units');
    fs.mkdirSync(unitDir);
    const out = await runOk(['systemd', 'install', '--dir', unitDir, '--scan-every', '2h'], env);
    assert.match(out, /created .*mirrorlane-sidecar@\.service/);
    assert.match(out, /systemctl daemon-reload && systemctl enable --now mirrorlane\.target/);
    const files = fs.readdirSync(unitDir).sort();
    assert.deepEqual(files, [
      'mirrorlane-probe.service',
      'mirrorlane-scan-mirrors.service',
      'mirrorlane-scan-mirrors.timer',
      'mirrorlane-scan-origin.service',
      'mirrorlane-scan-origin.timer',
      'mirrorlane-sidecar@.service',
      'mirrorlane.target',
    ]);
    assert.match(fs.readFileSync(path.join(unitDir, 'mirrorlane-scan-mirrors.timer'), 'utf8'), /^OnUnitInactiveSec=2h$/m);
    const all = [...files.filter((f) => !f.includes('@')), 'mirrorlane-sidecar@1.service', 'mirrorlane-sidecar@3.service'];
    const r = await verify(unitDir, all);
    assert.equal(r.code, 0, r.said);
    assert.equal(r.said, '', 'systemd-analyze verify has nothing to say');
    assert.match(await runOk(['systemd', 'install', '--dir', unitDir, '--scan-every', '2h'], env), /unchanged .*mirrorlane\.target/);
    // The check is real: a misspelt key is reported.
    const probe = path.join(unitDir, 'mirrorlane-probe.service');
    fs.writeFileSync(probe, fs.readFileSync(probe, 'utf8').replace('KillMode=mixed', 'KillMod=mixed'));
    assert.match((await verify(unitDir, ['mirrorlane-probe.service'])).said, /Unknown key 'KillMod'/);
  });
});
