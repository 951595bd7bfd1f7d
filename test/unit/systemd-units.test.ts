import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTimeSpan, renderUnits } from '../../core/systemd-units.ts';

const opts = {
  node: '/usr/bin/node',
  cli: '/opt/mirror lane/bin/mirrorlane.js',
  config: '/etc/mirrorlane.json',
  user: 'mirrorlane',
  group: 'mirrorlane',
  sidecars: 2,
  writable: ['/var/lib/mirrorlane'],
  scanEvery: '1h',
  originScanEvery: '15min',
};

describe('systemd units', () => {
  it('quotes words with spaces in command lines, and names the instances the target wants', () => {
    const units = Object.fromEntries(renderUnits(opts).map((u) => [u.name, u.text]));
    assert.match(units['mirrorlane-sidecar@.service'], /^ExecStart=\/usr\/bin\/node "\/opt\/mirror lane\/bin\/mirrorlane\.js" --config \/etc\/mirrorlane\.json serve --instance %i --no-scheduler$/m);
    assert.match(units['mirrorlane.target'], /^Wants=mirrorlane-sidecar@1\.service mirrorlane-sidecar@2\.service /m);
    assert.match(units['mirrorlane-scan-origin.timer'], /^OnUnitInactiveSec=15min$/m);
    assert.match(units['mirrorlane-probe.service'], /^ReadWritePaths=\/var\/lib\/mirrorlane$/m);
  });

  it('knows systemd time spans', () => {
    for (const ok of ['15min', '1h', '1h 30min', '2d', '90s']) assert.equal(isTimeSpan(ok), true, ok);
    for (const bad of ['', 'often', '1 fortnight', '-1h']) assert.equal(isTimeSpan(bad), false, bad);
  });
});
