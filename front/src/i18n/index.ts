/**
 * The app's languages (vue-i18n, Composition API): zh-CN and en. The language comes from the browser
 * (navigator.languages) unless the user picked one in the user menu (remembered in localStorage); `<html lang>`
 * follows. Code outside components (stores, sessions, format helpers) uses `t` and `currentLocale()` from here.
 */
import { createI18n } from 'vue-i18n';
import en from './en.js';
import zhCN from './zh-CN.js';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export const LOCALE_STORAGE_KEY = 'onair.locale';

/** The browser's preferred languages: the first Chinese or English one wins (any zh* is zh-CN); else English. */
export function localeFromLanguages(languages: readonly string[]): Locale {
  for (const language of languages) {
    const tag = language.toLowerCase();
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN';
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
  }
  return 'en';
}

function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

function storedLocale(): Locale | null {
  try {
    const value = globalThis.localStorage?.getItem(LOCALE_STORAGE_KEY);
    return isLocale(value) ? value : null;
  } catch {
    return null;
  }
}

function initialLocale(): Locale {
  const stored = storedLocale();
  if (stored) return stored;
  const nav = globalThis.navigator as Navigator | undefined;
  return localeFromLanguages(nav?.languages?.length ? nav.languages : nav?.language ? [nav.language] : []);
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
});

/** The translation function, for code outside components. */
export const t = i18n.global.t;

export function currentLocale(): Locale {
  const locale = i18n.global.locale.value;
  return isLocale(locale) ? locale : 'en';
}

/** Switches the language (and remembers it). */
export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  try {
    globalThis.localStorage?.setItem(LOCALE_STORAGE_KEY, locale);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  followLocale();
}

/** `<html lang>` says the language the page is in. */
export function followLocale(): void {
  if (typeof document !== 'undefined') document.documentElement.lang = currentLocale();
}
