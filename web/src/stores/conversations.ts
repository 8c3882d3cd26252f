import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import { api } from '@/api/client'
import type { Conversation, EventFrame, Message, Uuid, WsConversation } from '@/api/types'
import { cacheGet, cacheSet } from '@/lib/cache'
import { comparePositions } from '@/lib/timeline'
import { useUsersStore } from './users'

export function byActivity(a: Conversation, b: Conversation): number {
  const d = Date.parse(b.last_activity_at) - Date.parse(a.last_activity_at)
  return d !== 0 ? d : a.id < b.id ? -1 : 1
}

/** The conversation list: cached for instant start, refreshed over REST on
 * every (re)connect, and kept current by live frames in between. */
export const useConversationsStore = defineStore('conversations', () => {
  const items = ref<Conversation[]>([])
  const loaded = ref(false)
  const unread = reactive(new Map<Uuid, number>())
  /** unread messages that mention me */
  const mentions = reactive(new Map<Uuid, number>())
  const activeId = ref<Uuid | null>(null)
  let me = ''
  let saveTimer: ReturnType<typeof setTimeout> | null = null

  const sorted = computed(() => items.value.slice().sort(byActivity))
  const byId = computed(() => new Map(items.value.map((c) => [c.id, c])))

  function save() {
    if (!me || saveTimer) return
    saveTimer = setTimeout(() => {
      saveTimer = null
      void cacheSet(`conversations:${me}`, { items: items.value, unread: [...unread] })
    }, 300)
  }

  async function restore(userId: string) {
    me = userId
    const c = await cacheGet<{ items: Conversation[]; unread: [Uuid, number][] }>(`conversations:${userId}`)
    if (c && items.value.length === 0) {
      items.value = c.items
      for (const [k, v] of c.unread) unread.set(k, v)
      loaded.value = true
      useUsersStore().ensure(c.items.flatMap((x) => x.members.map((m) => m.user_id)))
    }
  }

  function newerMessage(a: Message | null, b: Message | null): Message | null {
    if (!a) return b
    if (!b) return a
    return comparePositions(a.position, b.position) >= 0 ? a : b
  }

  /** Replace the list with the server's, keeping any newer last message a
   * frame delivered while the request was in flight. */
  async function refresh() {
    const { conversations } = await api.listConversations()
    const old = byId.value
    items.value = conversations.map((c) => {
      const o = old.get(c.id)
      const last = newerMessage(c.last_message, o?.last_message ?? null)
      return last === c.last_message ? c : { ...c, last_message: last, last_activity_at: o!.last_activity_at }
    })
    // Servers that keep read markers count unread messages themselves.
    for (const c of conversations) {
      if (typeof c.unread_count !== 'number' || c.id === activeId.value) continue
      if (c.unread_count > 0) unread.set(c.id, c.unread_count)
      else unread.delete(c.id)
      if ((c.mention_count ?? 0) > 0) mentions.set(c.id, c.mention_count!)
      else mentions.delete(c.id)
    }
    loaded.value = true
    useUsersStore().ensure(conversations.flatMap((c) => c.members.map((m) => m.user_id)))
    save()
  }

  function upsert(c: Conversation) {
    const i = items.value.findIndex((x) => x.id === c.id)
    if (i < 0) items.value = [...items.value, c]
    else items.value = items.value.map((x, j) => (j === i ? c : x))
    useUsersStore().ensure(c.members.map((m) => m.user_id))
    save()
  }

  function applyCreated(c: WsConversation) {
    if (byId.value.has(c.id)) return
    upsert({ ...c, last_activity_at: c.created_at, last_message: null })
  }

  async function applyMessage(m: Message) {
    const c = byId.value.get(m.conversation_id)
    if (!c) {
      // A conversation we have not heard of (its frame came before we connected).
      try {
        const { conversation } = await api.getConversation(m.conversation_id)
        upsert(conversation)
      } catch {
        return
      }
      return applyMessage(m)
    }
    const last = newerMessage(c.last_message, m)
    if (last !== c.last_message) {
      const at = Date.parse(m.created_at) > Date.parse(c.last_activity_at) ? m.created_at : c.last_activity_at
      upsert({ ...c, last_message: last, last_activity_at: at })
    }
    if (m.sender_id !== me && m.conversation_id !== activeId.value && last === m) {
      unread.set(m.conversation_id, (unread.get(m.conversation_id) ?? 0) + 1)
      if (m.mentions?.includes(me)) mentions.set(m.conversation_id, (mentions.get(m.conversation_id) ?? 0) + 1)
      save()
    }
  }

  function setActive(id: Uuid | null) {
    activeId.value = id
    if (id && (unread.has(id) || mentions.has(id))) {
      unread.delete(id)
      mentions.delete(id)
      save()
    }
  }

  function remove(id: Uuid) {
    items.value = items.value.filter((c) => c.id !== id)
    unread.delete(id)
    mentions.delete(id)
    save()
  }

  async function reload(id: Uuid) {
    try {
      const { conversation } = await api.getConversation(id)
      upsert(conversation)
    } catch {
      /* gone or not a member */
    }
  }

  /** Group and membership frames, plus edits/deletes of a list's last message. */
  function applyEvent(f: EventFrame) {
    const c = byId.value.get(f.conversation_id)
    switch (f.type) {
      case 'conversation.updated':
        if (c) upsert({ ...c, ...f.changes } as Conversation)
        break
      case 'conversation.deleted':
        remove(f.conversation_id)
        break
      case 'member.added':
        void reload(f.conversation_id)
        break
      case 'member.removed':
        if (f.user_id === me) remove(f.conversation_id)
        else if (c) upsert({ ...c, members: c.members.filter((m) => m.user_id !== f.user_id) })
        break
      case 'member.role_changed':
        if (c)
          upsert({
            ...c,
            members: c.members.map((m) =>
              m.user_id === f.user_id ? { ...m, role: f.role } : m.user_id === f.previous_owner_id ? { ...m, role: 'admin' } : m,
            ),
          })
        break
      case 'message.edited':
        if (c?.last_message?.id === f.message_id) upsert({ ...c, last_message: { ...c.last_message, text: f.text, edited_at: f.edited_at } })
        break
      case 'message.deleted':
        if (c?.last_message?.id === f.message_id)
          upsert({ ...c, last_message: { ...c.last_message, text: '', deleted_at: f.deleted_at, attachments: [] } })
        break
      case 'read.updated':
        if (c && f.user_id === me) upsert({ ...c, last_read_position: f.last_read_position })
        break
    }
  }

  function myRole(c: Conversation): 'owner' | 'admin' | 'member' | null {
    return c.members.find((m) => m.user_id === me)?.role ?? null
  }

  async function create(kind: 'direct' | 'group', memberIds: Uuid[], title?: string): Promise<Conversation> {
    const { conversation } = await api.createConversation({ kind, member_ids: memberIds, ...(title ? { title } : {}) })
    upsert(conversation)
    return conversation
  }

  /** Group title, or the other member's name for a direct chat. */
  function title(c: Conversation): string {
    if (c.kind === 'group') return c.title ?? ''
    const users = useUsersStore()
    const other = c.members.find((m) => m.user_id !== me) ?? c.members[0]
    return other ? users.name(other.user_id) : ''
  }

  function reset() {
    items.value = []
    unread.clear()
    mentions.clear()
    loaded.value = false
    activeId.value = null
    me = ''
  }

  return { items, sorted, byId, loaded, unread, mentions, activeId, restore, refresh, upsert, remove, reload, applyCreated, applyMessage, applyEvent, setActive, create, title, myRole, reset }
})
