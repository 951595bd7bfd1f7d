// apt's mirror list: one base URL per line, best first, with priorities apt keeps to.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderAptList } from '../../sidecar/render-apt.ts';

test('apt list: base URLs end in "/", in order, priority 1.. after a tab, duplicates dropped', () => {
  assert.equal(
    renderAptList(['http://de.example/debian/', 'https://us.example/debian', 'http://de.example/debian/', 'http://origin.example/debian/']),
    'http://de.example/debian/\tpriority:1\nhttps://us.example/debian/\tpriority:2\nhttp://origin.example/debian/\tpriority:3\n',
  );
  assert.equal(renderAptList([]), '');
});
