import { defineStore } from 'pinia'
import { reactive } from 'vue'
import { api } from '@/api/client'
import type { UserSummary, Uuid } from '@/api/types'
import { cacheGet, cacheSet } from '@/lib/cache'

/** Display names for user ids (members, senders), fetched once and cached. */
export const useUsersStore = defineStore('users', () => {
  const byId = reactive(new Map<Uuid, UserSummary>())
  const inflight = new Map<Uuid, Promise<void>>()
  let owner = ''

  async function restore(userId: string) {
    owner = userId
    const cached = await cacheGet<UserSummary[]>(`users:${userId}`)
    for (const u of cached ?? []) if (!byId.has(u.id)) byId.set(u.id, u)
  }

  function remember(users: UserSummary[]) {
    for (const u of users) byId.set(u.id, { id: u.id, username: u.username, display_name: u.display_name })
    if (owner) void cacheSet(`users:${owner}`, [...byId.values()])
  }

  function ensure(ids: Iterable<Uuid>) {
    for (const id of ids) {
      if (byId.has(id) || inflight.has(id)) continue
      const p = api
        .getUser(id)
        .then((r) => remember([r.user]))
        .catch(() => {})
        .finally(() => inflight.delete(id))
      inflight.set(id, p)
    }
  }

  function name(id: Uuid): string {
    return byId.get(id)?.display_name ?? '…'
  }

  function reset() {
    byId.clear()
    owner = ''
  }

  return { byId, restore, remember, ensure, name, reset }
})
