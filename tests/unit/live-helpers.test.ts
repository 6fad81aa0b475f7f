import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { iceServersFor } from '../../api/live/iceServers.js';
import { UNKNOWN_LOCATION, locationFromTimeZone } from '../../api/live/location.js';

test('locationFromTimeZone() names the city and country of a time zone, offline', () => {
  assert.equal(locationFromTimeZone('Europe/Paris'), 'Paris, France');
  assert.equal(locationFromTimeZone('America/New_York'), 'New York, United States of America');
  assert.equal(locationFromTimeZone('Asia/Calcutta'), 'Kolkata, India');
});

test('locationFromTimeZone() answers Unknown for absent or made-up zones', () => {
  assert.equal(locationFromTimeZone(undefined), UNKNOWN_LOCATION);
  assert.equal(locationFromTimeZone(''), UNKNOWN_LOCATION);
  assert.equal(locationFromTimeZone('Mars/Olympus_Mons'), UNKNOWN_LOCATION);
  assert.equal(locationFromTimeZone('../../etc/passwd'), UNKNOWN_LOCATION);
});

test('locationFromTimeZone() records no location for zones that are not places (a browser set to UTC)', () => {
  for (const zone of [
    'UTC',
    'Etc/UTC',
    'Etc/GMT+5',
    'GMT',
    'Universal',
    'Zulu',
    'Etc/Universal',
    'EST',
    'CET',
    'Factory',
  ])
    assert.equal(locationFromTimeZone(zone), UNKNOWN_LOCATION, zone);
  // Old names of real places still resolve.
  assert.equal(locationFromTimeZone('US/Eastern'), 'New York, United States of America');
});

test('iceServersFor() gives coturn time-limited credentials, and nothing without TURN', () => {
  const now = 1_700_000_000_000;
  const [server] = iceServersFor(7, { urls: ['turn:turn.example:3478'], secret: 's3cret' }, 3600, now);
  assert.ok(server);
  assert.equal(server.username, `${1_700_000_000 + 3600}:7`);
  assert.equal(server.credential, createHmac('sha1', 's3cret').update(server.username).digest('base64'));
  assert.deepEqual(server.urls, ['turn:turn.example:3478']);
  assert.deepEqual(iceServersFor(7, { urls: ['turn:x'], secret: undefined }), []);
  assert.deepEqual(iceServersFor(7, { urls: [], secret: 'x' }), []);
});
