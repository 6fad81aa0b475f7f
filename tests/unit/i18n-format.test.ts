/**
 * The front end's language-dependent helpers, in node (no browser): the language from the browser's list, the Intl
 * formats in both languages, one rounding of durations, error messages by code, and the "watch by live ID" parser.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ApiError, errorMessage } from '../../front/src/rest/ApiError.js';
import { passwordProblem } from '../../front/src/auth/accountRules.js';
import { endedMessage } from '../../front/src/format/calls.js';
import { i18n, localeFromLanguages, setLocale } from '../../front/src/i18n/index.js';
import { formatCount, formatDuration, formatSince, formatViewers } from '../../front/src/format/index.js';
import { parseLiveId } from '../../front/src/live/liveId.js';
import { formatLocation } from '../../front/src/format/recordings.js';
import { countryCodeOfLocation, locationFromTimeZone } from '../../api/live/location.js';
import type { CallView } from '../../api/contract/signalling.js';

afterEach(() => setLocale('en'));

describe('the language from the browser', () => {
  it('any Chinese is zh-CN, English is en, the first of the two in the list wins, else en', () => {
    assert.equal(localeFromLanguages(['zh-CN']), 'zh-CN');
    assert.equal(localeFromLanguages(['zh-TW', 'en']), 'zh-CN');
    assert.equal(localeFromLanguages(['zh']), 'zh-CN');
    assert.equal(localeFromLanguages(['fr-FR', 'zh-HK']), 'zh-CN');
    assert.equal(localeFromLanguages(['en-GB', 'zh-CN']), 'en');
    assert.equal(localeFromLanguages(['fr-FR', 'de']), 'en');
    assert.equal(localeFromLanguages([]), 'en');
  });
});

describe('locations in the chosen language', () => {
  it('the API gives the country code of a stored location', () => {
    assert.equal(countryCodeOfLocation('Paris, France'), 'FR');
    assert.equal(countryCodeOfLocation(locationFromTimeZone('Asia/Shanghai')), 'CN');
    assert.equal(countryCodeOfLocation('Jamestown, Saint Helena, Ascension and Tristan da Cunha'), 'SH');
    assert.equal(countryCodeOfLocation('France'), 'FR');
    assert.equal(countryCodeOfLocation('Unknown'), null);
    assert.equal(countryCodeOfLocation(null), null);
  });

  it('the country is named by Intl.DisplayNames in the chosen language, the city kept', () => {
    assert.equal(formatLocation('Paris, France', 'FR'), 'Paris, France');
    assert.equal(formatLocation('Lagos, Nigeria', 'NG'), 'Lagos, Nigeria');
    setLocale('zh-CN');
    assert.equal(formatLocation('Paris, France', 'FR'), '法国 Paris');
    assert.equal(formatLocation('Shanghai, China', 'CN'), '中国 Shanghai');
    assert.equal(formatLocation('France', 'FR'), '法国');
    assert.equal(formatLocation('Unknown', null), '未知地点');
    assert.equal(
      formatLocation('Somewhere, Atlantis', null),
      'Somewhere, Atlantis',
      'as stored when the country is not known',
    );
    assert.equal(formatLocation(null, null), null);
  });
});

describe('formats in the chosen language', () => {
  it('durations have one rounding: whole seconds are cut, as the video player shows them', () => {
    assert.equal(formatDuration(16_999), '0:16');
    assert.equal(formatDuration(17_000), '0:17');
    assert.equal(formatDuration(3_723_500), '1:02:03');
    assert.equal(formatDuration(null), '–');
    assert.equal(formatDuration(-5), '0:00');
  });

  it('counts and viewer counts are plural-aware and localised', () => {
    assert.equal(formatViewers(1), '1 viewer');
    assert.equal(formatViewers(1234), '1,234 viewers');
    setLocale('zh-CN');
    assert.equal(formatViewers(3), '3 位观众');
    assert.equal(formatCount(12345), '12,345');
  });

  it('relative times go through Intl in the chosen language', () => {
    const now = Date.parse('2030-01-01T12:00:00Z');
    const fiveMinutesBefore = new Date(now - 5 * 60_000).toISOString();
    assert.equal(formatSince(fiveMinutesBefore, now), '5 minutes ago');
    assert.equal(formatSince(new Date(now - 10_000).toISOString(), now), 'just now');
    setLocale('zh-CN');
    assert.equal(formatSince(fiveMinutesBefore, now), '5分钟前');
    assert.equal(formatSince(new Date(now - 10_000).toISOString(), now), '刚刚');
  });

  it('switching the language switches vue-i18n', () => {
    setLocale('zh-CN');
    assert.equal(i18n.global.locale.value, 'zh-CN');
    assert.equal(i18n.global.t('titles.liveNow'), '正在直播');
  });
});

describe('messages by code', () => {
  it('an ApiError reads as its code, in the chosen language; errors made here by their own key', () => {
    const taken = new ApiError('auth.nicknameTaken', 'the nickname is taken', 409);
    assert.equal(errorMessage(taken), 'This nickname is taken. Pick another one.');
    setLocale('zh-CN');
    assert.equal(errorMessage(taken), '这个昵称已被占用，请换一个。');
    assert.equal(errorMessage(ApiError.unreachable()), '无法连接 onair 服务器。请检查网络连接后重试。');
    assert.equal(errorMessage(ApiError.fromResponse(418, null)), '服务器返回了意外的错误（HTTP 418）。');
    assert.equal(errorMessage(new Error('boom')), '出了点问题。请重试。');
  });

  it('validation messages follow the language', () => {
    assert.equal(passwordProblem('abc', 'someone'), 'Use at least 8 characters.');
    setLocale('zh-CN');
    assert.equal(passwordProblem('abc', 'someone'), '至少使用 8 个字符。');
  });

  it('how a call ended, with its duration rounded the one way', () => {
    const call = {
      id: 'c1',
      caller: { id: 1, nickname: 'ana', avatarUrl: '' },
      callee: { id: 2, nickname: 'bo', avatarUrl: '' },
      state: 'ended',
      outcome: 'completed',
      endReason: 'hangUp',
      createdAt: '2030-01-01T12:00:00Z',
      answeredAt: '2030-01-01T12:00:01Z',
      endedAt: '2030-01-01T12:00:18Z',
      durationMs: 16_900,
    } as unknown as CallView;
    assert.equal(endedMessage(call, 1, 16_900), 'Call with bo ended after 0:16.');
    setLocale('zh-CN');
    assert.equal(endedMessage(call, 1, 16_900), '与 bo 的通话已结束，时长 0:16。');
    assert.equal(endedMessage({ ...call, outcome: 'cancelled' }, 1, null), '你取消了呼叫。');
  });
});

describe('watch by live ID', () => {
  it('accepts an id or a link holding /live/<id>, whatever the case and spaces', () => {
    assert.equal(parseLiveId('k3x9q2m7a1bz'), 'k3x9q2m7a1bz');
    assert.equal(parseLiveId('  K3X9Q2M7A1BZ '), 'k3x9q2m7a1bz');
    assert.equal(parseLiveId('https://onair.example.com/live/k3x9q2m7a1bz'), 'k3x9q2m7a1bz');
    assert.equal(parseLiveId('http://localhost:8080/live/k3x9q2m7a1bz?from=chat#top'), 'k3x9q2m7a1bz');
    assert.equal(parseLiveId('/live/k3x9q2m7a1bz/'), 'k3x9q2m7a1bz');
  });

  it('refuses anything else', () => {
    for (const input of [
      '',
      'hello',
      'k3x9q2m7a1b',
      'k3x9q2m7a1bzz',
      'https://x/live/',
      'https://x/recordings/k3x9q2m7a1bz',
      'k3x9-2m7a1bz',
    ])
      assert.equal(parseLiveId(input), null, input);
  });
});
