import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import type { Position, Uuid } from '@/api/types'
import { comparePositions } from '@/lib/timeline'

export const TYPING_TTL_MS = 6000

/** Ephemeral live state: who is typing where, members' read markers and
 * presence. Nothing of it is cached; it comes from frames. */
export const useLiveStore = defineStore('live', () => {
  /** conversation -> user -> expiry (epoch ms) */
  const typing = reactive(new Map<Uuid, Map<Uuid, number>>())
  /** conversation -> user -> last read position */
  const reads = reactive(new Map<Uuid, Map<Uuid, Position>>())
  const presence = reactive(new Map<Uuid, { status: 'online' | 'offline'; last_seen: string | null }>())
  const now = ref(Date.now())
  let tick: ReturnType<typeof setInterval> | null = null

  function ensureTick() {
    if (tick) return
    tick = setInterval(() => {
      now.value = Date.now()
      let any = false
      for (const [c, users] of typing) {
        for (const [u, exp] of users) if (exp <= now.value) users.delete(u)
        if (users.size === 0) typing.delete(c)
        else any = true
      }
      if (!any && tick) {
        clearInterval(tick)
        tick = null
      }
    }, 1000)
  }

  function setTyping(convId: Uuid, userId: Uuid, at = Date.now()) {
    let users = typing.get(convId)
    if (!users) typing.set(convId, (users = new Map()))
    users.set(userId, at + TYPING_TTL_MS)
    ensureTick()
  }

  /** A message from them ends their typing. */
  function stopTyping(convId: Uuid, userId: Uuid) {
    typing.get(convId)?.delete(userId)
  }

  function typers(convId: Uuid): Uuid[] {
    const users = typing.get(convId)
    if (!users) return []
    return [...users].filter(([, exp]) => exp > now.value).map(([u]) => u)
  }

  /** Read markers only move forward. */
  function setRead(convId: Uuid, userId: Uuid, pos: Position) {
    let m = reads.get(convId)
    if (!m) reads.set(convId, (m = new Map()))
    const old = m.get(userId)
    if (!old || comparePositions(old, pos) < 0) m.set(userId, pos)
  }

  /** Users other than `except` whose marker is at or past pos. */
  function seenBy(convId: Uuid, pos: Position, except: Uuid): Uuid[] {
    const m = reads.get(convId)
    if (!m) return []
    return [...m].filter(([u, p]) => u !== except && comparePositions(p, pos) >= 0).map(([u]) => u)
  }

  function reset() {
    typing.clear()
    reads.clear()
    presence.clear()
  }

  return { typing, reads, presence, now, setTyping, stopTyping, typers, setRead, seenBy, reset }
})
