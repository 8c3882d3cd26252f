import { ref, watchEffect } from 'vue'

export type ThemeChoice = 'system' | 'light' | 'dark'
const KEY = 'parley.theme'

function stored(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY)
    if (v === 'light' || v === 'dark' || v === 'system') return v
  } catch {
    /* ignore */
  }
  return 'system'
}

const choice = ref<ThemeChoice>(stored())
const media = typeof matchMedia !== 'undefined' ? matchMedia('(prefers-color-scheme: dark)') : null
const systemDark = ref(media?.matches ?? false)
media?.addEventListener('change', (e) => (systemDark.value = e.matches))

watchEffect(() => {
  if (typeof document === 'undefined') return
  const t = choice.value === 'system' ? (systemDark.value ? 'dark' : 'light') : choice.value
  document.documentElement.dataset.theme = t
  document.querySelector('meta[name="theme-color"]')?.setAttribute('content', t === 'dark' ? '#17212b' : '#2b6cb0')
})

/** Light, dark, or follow the system; the choice persists. */
export function useTheme() {
  function setTheme(t: ThemeChoice) {
    choice.value = t
    try {
      localStorage.setItem(KEY, t)
    } catch {
      /* ignore */
    }
  }
  return { theme: choice, setTheme }
}
