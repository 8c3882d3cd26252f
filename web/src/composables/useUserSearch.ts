import { ref, watch } from 'vue'
import { api } from '@/api/client'
import type { UserSummary } from '@/api/types'
import { useAuthStore } from '@/stores/auth'
import { useUsersStore } from '@/stores/users'

/** Debounced username-prefix search, without the caller. */
export function useUserSearch() {
  const query = ref('')
  const results = ref<UserSummary[]>([])
  const searching = ref(false)
  const auth = useAuthStore()
  const users = useUsersStore()
  let timer: ReturnType<typeof setTimeout> | null = null
  let seq = 0

  watch(query, (q) => {
    if (timer) clearTimeout(timer)
    const clean = q.trim().replace(/^@/, '')
    if (!/^[A-Za-z0-9_.]{1,32}$/.test(clean)) {
      results.value = []
      return
    }
    timer = setTimeout(async () => {
      const mine = ++seq
      searching.value = true
      try {
        const { users: found } = await api.searchUsers(clean)
        if (mine !== seq) return
        users.remember(found)
        results.value = found.filter((u) => u.id !== auth.user?.id)
      } catch {
        if (mine === seq) results.value = []
      } finally {
        if (mine === seq) searching.value = false
      }
    }, 200)
  })
  return { query, results, searching }
}
