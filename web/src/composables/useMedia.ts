import { onScopeDispose, ref } from 'vue'

/** A reactive media query, e.g. useMedia('(max-width: 649px)'). */
export function useMedia(query: string) {
  const mql = typeof matchMedia !== 'undefined' ? matchMedia(query) : null
  const matches = ref(mql?.matches ?? false)
  const on = (e: MediaQueryListEvent) => (matches.value = e.matches)
  mql?.addEventListener('change', on)
  onScopeDispose(() => mql?.removeEventListener('change', on))
  return matches
}
