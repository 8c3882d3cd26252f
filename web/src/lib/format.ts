// Locale-aware date and time formatting; Intl formatters are cached per locale.
const cache = new Map<string, Intl.DateTimeFormat>()
function fmt(locale: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = locale + JSON.stringify(opts)
  let f = cache.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat(locale, opts)
    cache.set(key, f)
  }
  return f
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()
}

export function formatTime(iso: string, locale: string): string {
  return fmt(locale, { hour: '2-digit', minute: '2-digit' }).format(new Date(iso))
}

/** Today: the time; this week: the weekday; else the date. */
export function formatListTime(iso: string, locale: string, now = new Date()): string {
  const d = new Date(iso)
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000)
  if (days <= 0) return formatTime(iso, locale)
  if (days < 7) return fmt(locale, { weekday: 'short' }).format(d)
  return fmt(locale, { day: 'numeric', month: 'short', ...(d.getFullYear() !== now.getFullYear() ? { year: 'numeric' } : {}) }).format(d)
}

/** 'today' | 'yesterday' | a formatted date, for date separators. */
export function formatDay(iso: string, locale: string, now = new Date()): { relative: 'today' | 'yesterday' | null; text: string } {
  const d = new Date(iso)
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000)
  if (days === 0) return { relative: 'today', text: '' }
  if (days === 1) return { relative: 'yesterday', text: '' }
  return {
    relative: null,
    text: fmt(locale, { day: 'numeric', month: 'long', ...(d.getFullYear() !== now.getFullYear() ? { year: 'numeric' } : {}) }).format(d),
  }
}
