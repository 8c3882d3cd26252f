import { createI18n } from 'vue-i18n'
import en from './en'
import ru from './ru'

export const LOCALES = ['en', 'ru'] as const
export type Locale = (typeof LOCALES)[number]
const KEY = 'parley.locale'

/** The stored choice, else the browser's first supported language, else English. */
export function detectLocale(): Locale {
  try {
    const saved = localStorage.getItem(KEY)
    if (saved && (LOCALES as readonly string[]).includes(saved)) return saved as Locale
  } catch {
    /* ignore */
  }
  const langs = typeof navigator !== 'undefined' ? (navigator.languages ?? [navigator.language]) : []
  for (const l of langs) {
    const base = l.toLowerCase().split('-')[0]
    if ((LOCALES as readonly string[]).includes(base ?? '')) return base as Locale
  }
  return 'en'
}

/** Russian plural forms: one (1, 21), few (2-4, 22-24), many (5-20, 25...).
 * The messages list "zero | one | few | many". */
function ruPlural(choice: number, choicesLength: number): number {
  if (choice === 0) return 0
  const n10 = choice % 10
  const n100 = choice % 100
  const form = n10 === 1 && n100 !== 11 ? 1 : n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14) ? 2 : 3
  return Math.min(form, choicesLength - 1)
}

export const i18n = createI18n({
  legacy: false,
  locale: detectLocale(),
  fallbackLocale: 'en',
  messages: { en, ru },
  pluralRules: { ru: ruPlural },
})

export function setLocale(l: Locale): void {
  i18n.global.locale.value = l
  document.documentElement.lang = l
  try {
    localStorage.setItem(KEY, l)
  } catch {
    /* ignore */
  }
}
