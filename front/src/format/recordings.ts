/**
 * How recordings' figures read in the library: the same helpers as the lives (format/index.ts), so that a duration is
 * rounded once, down like the video player's clock, and dates follow the chosen language.
 */
import { currentLocale, t } from '../i18n/index.js';
import { formatDateTime, formatDuration as formatLiveDuration } from './index.js';

/** `4:05`, `1:02:03`; an unknown (or negative) duration is a dash. */
export function formatDuration(ms: number | null): string {
  return ms !== null && ms < 0 ? '–' : formatLiveDuration(ms);
}

/** A start time in the chosen language and the user's time zone. */
export function formatDate(iso: string): string {
  return formatDateTime(iso);
}

const regionNames = new Map<string, Intl.DisplayNames>();

/** A country's name in the chosen language, from its ISO 3166-1 code (null when Intl does not know it). */
export function regionName(code: string): string | null {
  const locale = currentLocale();
  let names = regionNames.get(locale);
  if (!names) {
    names = new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' });
    regionNames.set(locale, names);
  }
  try {
    return names.of(code.toUpperCase()) ?? null;
  } catch {
    return null;
  }
}

/**
 * A recording's location in the chosen language: the country through Intl.DisplayNames (the API sends its code),
 * the city as the time zone names it ("Paris, France" → "法国 Paris" in Chinese); as stored when its country is not
 * known; null when there is no location.
 */
export function formatLocation(location: string | null, countryCode: string | null | undefined): string | null {
  if (!location) return null;
  if (location === 'Unknown') return t('recordings.unknownLocation');
  const country = countryCode ? regionName(countryCode) : null;
  if (!country) return location;
  const comma = location.indexOf(', ');
  return comma === -1 ? country : t('recordings.place', { city: location.slice(0, comma), country });
}
