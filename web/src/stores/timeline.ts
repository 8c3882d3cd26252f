import { defineStore } from 'pinia'
import { reactive } from 'vue'
import { api } from '@/api/client'
import type { Message, Uuid } from '@/api/types'
import { cacheGet, cacheSet } from '@/lib/cache'
import { applyDelete, applyEdit, applyReaction, comparePositions, mergeMessages, newest } from '@/lib/timeline'
import type { EventFrame } from '@/api/types'

export const PAGE = 50
const CATCH_UP_PAGE = 200
const CATCH_UP_MAX_PAGES = 5
const CACHE_KEEP = 200

export interface Timeline {
  messages: Message[]
  /** older messages exist on the server */
  hasMoreBefore: boolean
  loadingOlder: boolean
  /** fetched from the server since this page load (not only from the cache) */
  synced: boolean
}

interface Cached {
  messages: Message[]
  hasMoreBefore: boolean
}

/** Per-conversation message timelines: a window of history that ends at the
 * newest message, grown backwards page by page and forwards by live frames,
 * acks of our own sends and catch-up reads after a reconnect. Everything goes
 * through mergeMessages, so order and de-duplication live in one place. */
export const useTimelineStore = defineStore('timeline', () => {
  const timelines = reactive(new Map<Uuid, Timeline>())
  /** ids whose copy came from a 202 ack (local created_at): a frame or page replaces them */
  const provisional = new Set<string>()
  const syncing = new Map<Uuid, Promise<void>>()
  const saveTimers = new Map<Uuid, ReturnType<typeof setTimeout>>()
  let me = ''

  function setUser(id: string) {
    me = id
  }

  function get(id: Uuid): Timeline | undefined {
    return timelines.get(id)
  }

  function save(id: Uuid) {
    if (!me || saveTimers.has(id)) return
    saveTimers.set(
      id,
      setTimeout(() => {
        saveTimers.delete(id)
        const t = timelines.get(id)
        if (!t) return
        const keep = newest(t.messages, CACHE_KEEP)
        const c: Cached = { messages: keep, hasMoreBefore: t.hasMoreBefore || keep.length < t.messages.length }
        void cacheSet(`messages:${me}:${id}`, c)
      }, 300),
    )
  }

  function replaceRule(old: Message): boolean {
    return provisional.has(old.id)
  }

  /** page: history (authoritative); frame: live; ack: our own 202. */
  function merge(id: Uuid, incoming: Message[], source: 'page' | 'frame' | 'ack') {
    const t = timelines.get(id)
    if (!t) return
    const next = mergeMessages(t.messages, incoming, source === 'page' ? true : replaceRule)
    if (next !== t.messages) {
      t.messages = next
      save(id)
    }
    if (source !== 'ack') for (const m of incoming) provisional.delete(m.id)
  }

  /** Open a conversation: cached history at once, then the server's. */
  async function open(id: Uuid): Promise<void> {
    if (!timelines.has(id)) {
      const cached = me ? await cacheGet<Cached>(`messages:${me}:${id}`) : undefined
      if (!timelines.has(id)) {
        timelines.set(id, {
          messages: cached?.messages ?? [],
          hasMoreBefore: cached?.hasMoreBefore ?? true,
          loadingOlder: false,
          synced: false,
        })
      }
    }
    const t = timelines.get(id)!
    if (!t.synced) await sync(id)
  }

  /** Bring a timeline up to the server: the newest page when empty, otherwise
   * every message after the newest one we have (so no gap after a reconnect).
   * A very long absence drops the window and starts again at the newest page. */
  function sync(id: Uuid): Promise<void> {
    let p = syncing.get(id)
    if (!p) {
      p = doSync(id).finally(() => syncing.delete(id))
      syncing.set(id, p)
    }
    return p
  }

  async function doSync(id: Uuid) {
    const t = timelines.get(id)
    if (!t) return
    const last = t.messages[t.messages.length - 1]
    if (last) {
      let after = last.position
      for (let i = 0; i < CATCH_UP_MAX_PAGES; i++) {
        const page = await api.listMessages(id, { after, limit: CATCH_UP_PAGE })
        merge(id, page.messages, 'page')
        const tail = page.messages[page.messages.length - 1]
        if (!(page.has_more ?? false) || !tail) {
          t.synced = true
          return
        }
        after = tail.position
      }
    }
    const page = await api.listMessages(id, { limit: PAGE })
    t.messages = mergeMessages([], page.messages)
    t.hasMoreBefore = page.has_more ?? false
    t.synced = true
    save(id)
  }

  async function loadOlder(id: Uuid): Promise<void> {
    const t = timelines.get(id)
    if (!t || t.loadingOlder || !t.hasMoreBefore) return
    const first = t.messages[0]
    if (!first) return sync(id)
    t.loadingOlder = true
    try {
      const page = await api.listMessages(id, { before: first.position, limit: PAGE })
      merge(id, page.messages, 'page')
      t.hasMoreBefore = page.has_more ?? false
      save(id)
    } finally {
      t.loadingOlder = false
    }
  }

  /** A message.created frame. Timelines not open are left alone: they sync on open. */
  function applyLive(m: Message) {
    merge(m.conversation_id, [m], 'frame')
  }

  /** The 202 for one of our sends: show it as delivered at once. */
  function applyAck(m: Message) {
    const t = timelines.get(m.conversation_id)
    if (!t) return
    if (!t.messages.some((x) => x.id === m.id)) provisional.add(m.id)
    merge(m.conversation_id, [m], 'ack')
  }

  /** Events already applied, by position: a frame can arrive twice. */
  const applied = new Map<Uuid, Set<string>>()
  function firstTime(convId: Uuid, position: string): boolean {
    let set = applied.get(convId)
    if (!set) applied.set(convId, (set = new Set()))
    if (set.has(position)) return false
    set.add(position)
    if (set.size > 2000) set.delete(set.values().next().value!)
    return true
  }

  /** Replace one message through fn (no-op when it is not loaded). */
  function update(convId: Uuid, mid: Uuid, fn: (m: Message) => Message): Message | null {
    const t = timelines.get(convId)
    if (!t) return null
    const i = t.messages.findIndex((x) => x.id === mid)
    if (i < 0) return null
    const next = fn(t.messages[i]!)
    if (next !== t.messages[i]) {
      const copy = t.messages.slice()
      copy[i] = next
      // Quotes of the changed message follow it.
      for (let j = 0; j < copy.length; j++) {
        const q = copy[j]!.quoted
        if (q && q.id === mid) copy[j] = { ...copy[j]!, quoted: { ...q, text: next.text, deleted: !!next.deleted_at } }
      }
      t.messages = copy
      save(convId)
    }
    return next
  }

  /** message.edited / message.deleted / reaction.added / reaction.removed. */
  function applyEvent(f: EventFrame): void {
    if (!firstTime(f.conversation_id, f.position)) return
    const c = f.conversation_id
    if (f.type === 'message.edited') update(c, f.message_id, (m) => applyEdit(m, f.text, f.edited_at, f.mentions))
    else if (f.type === 'message.deleted') update(c, f.message_id, (m) => applyDelete(m, f.deleted_at))
    else if (f.type === 'reaction.added' || f.type === 'reaction.removed')
      update(c, f.message_id, (m) => applyReaction(m, f.emoji, f.type === 'reaction.added' ? 1 : -1, f.actor_id === me))
  }

  /** Our own reaction, before the server confirms it. */
  function reactLocal(convId: Uuid, mid: Uuid, emoji: string, add: boolean) {
    update(convId, mid, (m) => applyReaction(m, emoji, add ? 1 : -1, true))
  }

  /** Make sure a message is in the window (search results, quotes): an
   * around= page, then after= pages until it joins the window, so the window
   * stays contiguous and still ends at the newest message. */
  async function jumpTo(convId: Uuid, mid: Uuid): Promise<boolean> {
    await open(convId).catch(() => {})
    const t = timelines.get(convId)
    if (!t) return false
    if (t.messages.some((m) => m.id === mid)) return true
    const page = await api.listMessages(convId, { around: mid, limit: PAGE })
    if (!page.messages.some((m) => m.id === mid)) return false
    const known = new Set(t.messages.map((m) => m.id))
    const collected = page.messages.slice()
    let more = page.has_more_after ?? false
    let joined = collected.some((m) => known.has(m.id)) || t.messages.length === 0
    for (let i = 0; more && !joined && i < 25; i++) {
      const tail = collected[collected.length - 1]!
      const next = await api.listMessages(convId, { after: tail.position, limit: CATCH_UP_PAGE })
      collected.push(...next.messages)
      more = next.has_more ?? false
      joined = next.messages.some((m) => known.has(m.id))
    }
    const first = t.messages[0]
    if (!joined && more) {
      // Too far to join: the window restarts at the message (newer pages load on sync).
      t.messages = mergeMessages([], collected)
    } else {
      t.messages = mergeMessages(t.messages, collected, true)
    }
    if (!first || comparePositions(collected[0]!.position, first.position) <= 0) t.hasMoreBefore = page.has_more_before ?? false
    save(convId)
    return true
  }

  /** After a reconnect: catch every open timeline up, except those the
   * socket is replaying (their frames come over the socket). */
  async function resyncAll(replaying: ReadonlySet<Uuid> = new Set()): Promise<void> {
    const ids = [...timelines.keys()].filter((id) => !replaying.has(id))
    await Promise.all(ids.map((id) => sync(id).catch(() => {})))
  }

  function markStale() {
    for (const t of timelines.values()) t.synced = false
  }

  function reset() {
    timelines.clear()
    provisional.clear()
    applied.clear()
    me = ''
  }

  return { timelines, setUser, get, open, sync, loadOlder, applyLive, applyAck, applyEvent, reactLocal, update, jumpTo, resyncAll, markStale, reset }
})
