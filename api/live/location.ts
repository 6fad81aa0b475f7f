import ct from 'countries-and-timezones';

/**
 * A recording's location, resolved offline (no third-party service at run time): from the IANA time zone the
 * presenter's browser reports, e.g. "Europe/Paris" → "Paris, France". Unknown or absent zones give "Unknown", and so
 * do zones that are not places: "UTC", "GMT", "Etc/…" and the other offsets or abbreviations ("EST", "CET", which
 * name no city even where the zone data aliases them to one), and zones of no country ("Factory").
 */
export function locationFromTimeZone(timeZone: string | undefined | null): string {
  if (!timeZone || !timeZone.includes('/') || /^etc\//i.test(timeZone)) return UNKNOWN_LOCATION;
  const zone = ct.getTimezone(timeZone);
  if (!zone) return UNKNOWN_LOCATION;
  const canonical = zone.aliasOf ? (ct.getTimezone(zone.aliasOf) ?? zone) : zone;
  if (canonical.countries.length === 0 || canonical.name.startsWith('Etc/')) return UNKNOWN_LOCATION;
  const city = canonical.name.split('/').pop()?.replaceAll('_', ' ');
  const countryCode = canonical.countries[0];
  const country = countryCode ? ct.getCountry(countryCode)?.name : undefined;
  if (city && country) return `${city}, ${country}`;
  return city || country || UNKNOWN_LOCATION;
}

export const UNKNOWN_LOCATION = 'Unknown';

const COUNTRY_CODES = new Map(Object.values(ct.getAllCountries()).map((c) => [c.name, c.id]));

/**
 * The ISO 3166-1 alpha-2 code of the country a stored location names ("Paris, France" → "FR"), so that clients can
 * name it in their language (Intl.DisplayNames); null when it names none.
 */
export function countryCodeOfLocation(location: string | null | undefined): string | null {
  if (!location) return null;
  const comma = location.indexOf(', ');
  return COUNTRY_CODES.get(comma === -1 ? location : location.slice(comma + 2)) ?? null;
}
