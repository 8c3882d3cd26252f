import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, ApiError, NetworkError } from '@/api/client'
import type { Attachment, Message, Uuid } from '@/api/types'
import { cacheGet, cacheSet } from '@/lib/cache'
import { newClientMsgId } from '@/lib/ids'
import type { PendingMessage } from '@/lib/timeline'
import { backoffDelay } from '@/api/socket'
import { useConversationsStore } from './conversations'
import { useTimelineStore } from './timeline'

export interface OutboxEntry extends PendingMessage {
  attempts: number
}

/** Sends that the server has not acknowledged yet. Every send goes through
 * here, online or not: the entry (with its client_msg_id) is stored in
 * IndexedDB first, then posted. A network failure or 5xx keeps it and retries
 * with backoff, and at once when the connection returns; the server dedupes
 * by client_msg_id, so a retry after a lost 202 stores the message once.
 * A 4xx other than 401/429 is final: the entry is marked failed. */
export const useOutboxStore = defineStore('outbox', () => {
  const entries = ref<OutboxEntry[]>([])
  let me = ''
  let flushing: Promise<void> | null = null
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let retryAttempt = 0

  const byConversation = computed(() => {
    const m = new Map<Uuid, OutboxEntry[]>()
    for (const e of entries.value) {
      const list = m.get(e.conversation_id) ?? []
      list.push(e)
      m.set(e.conversation_id, list)
    }
    return m
  })

  function pending(convId: Uuid): OutboxEntry[] {
    return byConversation.value.get(convId) ?? []
  }

  function save() {
    if (me) void cacheSet(`outbox:${me}`, entries.value)
  }

  async function restore(userId: string) {
    me = userId
    const cached = await cacheGet<OutboxEntry[]>(`outbox:${userId}`)
    if (cached?.length) {
      const known = new Set(entries.value.map((e) => e.client_msg_id))
      entries.value = [...cached.filter((e) => !known.has(e.client_msg_id)), ...entries.value]
    }
  }

  async function send(convId: Uuid, text: string, extra: { attachments?: Attachment[]; reply_to?: Uuid } = {}): Promise<void> {
    const e: OutboxEntry = {
      client_msg_id: newClientMsgId(),
      conversation_id: convId,
      text,
      created_at: new Date().toISOString(),
      attempts: 0,
      ...(extra.attachments?.length ? { attachments: extra.attachments } : {}),
      ...(extra.reply_to ? { reply_to: extra.reply_to } : {}),
    }
    entries.value = [...entries.value, e]
    save()
    await flush()
  }

  function remove(clientMsgId: string) {
    entries.value = entries.value.filter((e) => e.client_msg_id !== clientMsgId)
    save()
  }

  function retry(clientMsgId: string) {
    entries.value = entries.value.map((e) => (e.client_msg_id === clientMsgId ? { ...e, failed: false } : e))
    save()
    void flush()
  }

  /** Post every entry in order; one flush at a time. */
  function flush(): Promise<void> {
    if (!flushing) flushing = doFlush().finally(() => (flushing = null))
    return flushing
  }

  async function doFlush() {
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = null
    const timeline = useTimelineStore()
    const conversations = useConversationsStore()
    for (;;) {
      const e = entries.value.find((x) => !x.failed)
      if (!e) {
        retryAttempt = 0
        return
      }
      try {
        e.attempts++
        const ack = await api.sendMessage(e.conversation_id, {
          client_msg_id: e.client_msg_id,
          text: e.text,
          ...(e.attachments?.length ? { attachment_ids: e.attachments.map((a) => a.id) } : {}),
          ...(e.reply_to ? { reply_to: e.reply_to } : {}),
        })
        const m: Message = {
          attachments: e.attachments ?? [],
          reply_to: e.reply_to ?? null,
          id: ack.message_id,
          conversation_id: e.conversation_id,
          client_msg_id: e.client_msg_id,
          sender_id: me,
          text: e.text,
          created_at: e.created_at,
          position: ack.position,
        }
        // Into the timeline first, then out of the outbox: never zero copies, and
        // buildRows hides the pending copy once the confirmed one exists.
        timeline.applyAck(m)
        void conversations.applyMessage(m)
        remove(e.client_msg_id)
      } catch (err) {
        if (isTransient(err)) {
          scheduleRetry()
          return
        }
        entries.value = entries.value.map((x) => (x.client_msg_id === e.client_msg_id ? { ...x, failed: true } : x))
        save()
      }
    }
  }

  function isTransient(err: unknown): boolean {
    if (err instanceof NetworkError) return true
    if (err instanceof ApiError) return err.status >= 500 || err.status === 429 || err.status === 401
    return true
  }

  function scheduleRetry() {
    if (retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = null
      void flush()
    }, backoffDelay(retryAttempt++))
  }

  /** The connection is back: retry now instead of waiting for the backoff. */
  function kick() {
    retryAttempt = 0
    if (entries.value.some((e) => !e.failed)) void flush()
  }

  function reset() {
    entries.value = []
    me = ''
    if (retryTimer) clearTimeout(retryTimer)
    retryTimer = null
  }

  return { entries, pending, restore, send, remove, retry, flush, kick, reset }
})
