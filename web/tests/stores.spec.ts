import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { api, refreshSession } from '@/api/client'
import { useAuthStore } from '@/stores/auth'
import { useConversationsStore, byActivity } from '@/stores/conversations'
import { useOutboxStore } from '@/stores/outbox'
import { useTimelineStore } from '@/stores/timeline'
import { handleFrame } from '@/services/sync'
import { cacheClear } from '@/lib/cache'
import type { Conversation } from '@/api/types'
import { CONV, ME, OTHER, mockFetch, msg, session } from './helpers'

function conv(id: string, at: string, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    kind: 'direct',
    title: null,
    created_by: ME,
    created_at: '2025-01-01T00:00:00.000Z',
    position: 'p7.o0',
    last_activity_at: at,
    members: [
      { user_id: ME, role: 'owner' },
      { user_id: OTHER, role: 'member' },
    ],
    last_message: null,
    ...over,
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0))

afterEach(() => {
  useOutboxStore().reset() // stop retry timers
})

beforeEach(async () => {
  await cacheClear()
  localStorage.clear()
  mockFetch({}) // nothing reaches a real network
  localStorage.setItem('parley.session', JSON.stringify(session()))
  setActivePinia(createPinia())
  useAuthStore() // wires the API module to the session
  useTimelineStore().setUser(ME)
})

describe('auth and the API module', () => {
  it('refreshes once for many concurrent 401s and retries each call', async () => {
    let refreshes = 0
    const calls = mockFetch({
      'POST /api/v1/auth/refresh': async () => {
        refreshes++
        await new Promise((r) => setTimeout(r, 20))
        return { status: 200, body: { access_token: 'tok-2', refresh_token: 'n'.repeat(43), token_type: 'Bearer', expires_in: 900, user: session().user } }
      },
      'GET /api/v1/conversations': (c) =>
        c.auth === 'Bearer tok-2' ? { status: 200, body: { conversations: [] } } : { status: 401, body: { error: { code: 'unauthenticated', message: 'x' } } },
    })
    const results = await Promise.all([api.listConversations(), api.listConversations(), api.listConversations()])
    expect(results.every((r) => r.conversations.length === 0)).toBe(true)
    expect(refreshes).toBe(1)
    expect(calls.filter((c) => c.path === '/api/v1/conversations' && c.auth === 'Bearer tok-2')).toHaveLength(3)
    expect(JSON.parse(localStorage.getItem('parley.session')!).refresh_token).toBe('n'.repeat(43))
  })

  it('refreshes ahead of expiry instead of sending a stale token', async () => {
    localStorage.setItem('parley.session', JSON.stringify(session('old', 'r'.repeat(43), 5_000)))
    const calls = mockFetch({
      'POST /api/v1/auth/refresh': () => ({ status: 200, body: { access_token: 'fresh', refresh_token: 'm'.repeat(43), token_type: 'Bearer', expires_in: 900, user: session().user } }),
      'GET /api/v1/conversations': () => ({ status: 200, body: { conversations: [] } }),
    })
    await api.listConversations()
    expect(calls.map((c) => c.auth)).toEqual([null, 'Bearer fresh'])
  })

  it('signs out when the refresh token is rejected', async () => {
    const auth = useAuthStore()
    const out = vi.fn()
    auth.onSignedOut(out)
    mockFetch({ 'POST /api/v1/auth/refresh': () => ({ status: 401, body: { error: { code: 'refresh_reused', message: 'x' } } }) })
    expect(await refreshSession('tok-1')).toBeNull()
    expect(auth.signedIn).toBe(false)
    expect(localStorage.getItem('parley.session')).toBeNull()
    expect(out).toHaveBeenCalledOnce()
  })

  it('keeps the session when the refresh fails for lack of network', async () => {
    mockFetch({ 'POST /api/v1/auth/refresh': () => 'network' })
    await expect(refreshSession('tok-1')).rejects.toThrow()
    expect(useAuthStore().signedIn).toBe(true)
  })
})

describe('conversations store', () => {
  it('sorts by latest activity and bumps on a live message', async () => {
    const s = useConversationsStore()
    await s.restore(ME)
    s.upsert(conv('c1', '2025-01-01T10:00:00.000Z'))
    s.upsert(conv('c2', '2025-01-01T11:00:00.000Z'))
    expect(s.sorted.map((c) => c.id)).toEqual(['c2', 'c1'])
    await s.applyMessage(msg(5, { conversation_id: 'c1', sender_id: OTHER, created_at: '2025-01-01T12:00:00.000Z' }))
    expect(s.sorted.map((c) => c.id)).toEqual(['c1', 'c2'])
    expect(s.byId.get('c1')!.last_message!.text).toBe('message 5')
    expect(s.unread.get('c1')).toBe(1)
    s.setActive('c1')
    expect(s.unread.get('c1')).toBeUndefined()
  })

  it('does not let an older message replace a newer last message', async () => {
    const s = useConversationsStore()
    s.upsert(conv('c1', '2025-01-01T10:00:00.000Z', { last_message: msg(10, { conversation_id: 'c1' }) }))
    await s.applyMessage(msg(9, { conversation_id: 'c1' }))
    expect(s.byId.get('c1')!.last_message!.position).toBe('p7.o10')
  })

  it('keeps a newer live last message across a list refresh that raced it', async () => {
    const s = useConversationsStore()
    s.upsert(conv('c1', '2025-01-01T10:00:00.000Z'))
    await s.applyMessage(msg(12, { conversation_id: 'c1', created_at: '2025-01-01T12:00:00.000Z' }))
    mockFetch({ 'GET /api/v1/conversations': () => ({ status: 200, body: { conversations: [conv('c1', '2025-01-01T11:00:00.000Z', { last_message: msg(11, { conversation_id: 'c1' }) })] } }) })
    await s.refresh()
    expect(s.byId.get('c1')!.last_message!.position).toBe('p7.o12')
  })

  it('adds a conversation from a conversation.created frame once', () => {
    const s = useConversationsStore()
    const f = { id: 'c9', kind: 'group' as const, title: 'T', created_by: OTHER, created_at: '2025-01-02T00:00:00.000Z', position: 'p1.o1', members: [{ user_id: OTHER, role: 'owner' as const }] }
    s.applyCreated(f)
    s.applyCreated(f)
    expect(s.items).toHaveLength(1)
    expect(s.items[0]!.last_activity_at).toBe(f.created_at)
    expect([conv('a', '2025-01-01T00:00:00.000Z'), conv('b', '2025-01-03T00:00:00.000Z')].sort(byActivity)[0]!.id).toBe('b')
  })
})

describe('timeline store', () => {
  it('opens with the newest page and pages back with before=', async () => {
    const calls = mockFetch({
      'GET /api/v1/conversations/*/messages': (c) =>
        c.query.get('before') === 'p7.o100'
          ? { status: 200, body: { messages: [msg(98), msg(99)], has_more: false } }
          : { status: 200, body: { messages: [msg(100), msg(101)], has_more: true } },
    })
    const t = useTimelineStore()
    await t.open(CONV)
    expect(t.get(CONV)!.messages.map((m) => m.position)).toEqual(['p7.o100', 'p7.o101'])
    await t.loadOlder(CONV)
    expect(t.get(CONV)!.messages.map((m) => m.position)).toEqual(['p7.o98', 'p7.o99', 'p7.o100', 'p7.o101'])
    expect(t.get(CONV)!.hasMoreBefore).toBe(false)
    expect(calls[1]!.query.get('before')).toBe('p7.o100')
  })

  it('merges live frames without duplicates (ack, frame, a second frame for a retried send)', async () => {
    mockFetch({ 'GET /api/v1/conversations/*/messages': () => ({ status: 200, body: { messages: [msg(1)], has_more: false } }) })
    const t = useTimelineStore()
    await t.open(CONV)
    const mine = msg(2, { sender_id: ME, client_msg_id: 'abc' })
    t.applyAck({ ...mine, created_at: '2025-01-31T11:59:59.000Z' })
    handleFrame({ type: 'message.created', conversation_id: CONV, position: mine.position, message: mine })
    handleFrame({ type: 'message.created', conversation_id: CONV, position: 'p7.o3', message: { ...mine, position: 'p7.o3' } })
    handleFrame({ type: 'message.created', conversation_id: CONV, position: 'p7.o4', message: msg(4) })
    const list = t.get(CONV)!.messages
    expect(list.map((m) => m.position)).toEqual(['p7.o1', 'p7.o2', 'p7.o4'])
    // the frame replaced the provisional (ack) copy's local timestamp
    expect(list[1]!.created_at).toBe(mine.created_at)
  })

  it('catches up after a reconnect with after= from the newest known position', async () => {
    let page = 0
    const calls = mockFetch({
      'GET /api/v1/conversations/*/messages': (c) => {
        page++
        if (!c.query.get('after')) return { status: 200, body: { messages: [msg(1), msg(2)], has_more: false } }
        if (c.query.get('after') === 'p7.o2') return { status: 200, body: { messages: [msg(3), msg(4)], has_more: true } }
        return { status: 200, body: { messages: [msg(5)], has_more: false } }
      },
    })
    const t = useTimelineStore()
    await t.open(CONV)
    t.markStale()
    await t.resyncAll()
    expect(t.get(CONV)!.messages.map((m) => m.position)).toEqual(['p7.o1', 'p7.o2', 'p7.o3', 'p7.o4', 'p7.o5'])
    expect(calls.map((c) => c.query.get('after'))).toEqual([null, 'p7.o2', 'p7.o4'])
    expect(page).toBe(3)
  })

  it('serves the cached window when offline', async () => {
    mockFetch({ 'GET /api/v1/conversations/*/messages': () => ({ status: 200, body: { messages: [msg(7), msg(8)], has_more: false } }) })
    const first = useTimelineStore()
    await first.open(CONV)
    await new Promise((r) => setTimeout(r, 400)) // debounced cache write
    setActivePinia(createPinia())
    useAuthStore()
    const t = useTimelineStore()
    t.setUser(ME)
    mockFetch({ 'GET /api/v1/conversations/*/messages': () => 'network' })
    await expect(t.open(CONV)).rejects.toThrow()
    expect(t.get(CONV)!.messages.map((m) => m.position)).toEqual(['p7.o7', 'p7.o8'])
  })
})

describe('outbox', () => {
  it('queues sends while offline and delivers each exactly once, in order, on reconnect', async () => {
    let online = false
    const seen: string[] = []
    let offset = 10
    const calls = mockFetch({
      'POST /api/v1/conversations/*/messages': (c) => {
        if (!online) return 'network'
        const body = c.body as { client_msg_id: string; text: string }
        seen.push(body.client_msg_id)
        return { status: 202, body: { message_id: `00000000-0000-4000-8000-0000000000${offset}`, position: `p7.o${offset++}` } }
      },
      'GET /api/v1/conversations/*/messages': () => ({ status: 200, body: { messages: [], has_more: false } }),
    })
    const t = useTimelineStore()
    await t.open(CONV)
    const o = useOutboxStore()
    await o.restore(ME)
    await o.send(CONV, 'one')
    await o.send(CONV, 'two')
    expect(o.pending(CONV).map((e) => e.text)).toEqual(['one', 'two'])
    const ids = o.pending(CONV).map((e) => e.client_msg_id)
    const attempts = calls.filter((c) => c.method === 'POST').length
    expect(attempts).toBeGreaterThan(0)

    online = true
    o.kick()
    await o.flush()
    expect(o.pending(CONV)).toEqual([])
    expect(seen).toEqual(ids) // same client_msg_ids, each accepted once, in order
    expect(t.get(CONV)!.messages.map((m) => m.text)).toEqual(['one', 'two'])
    // The frames that follow change nothing.
    for (const m of t.get(CONV)!.messages) handleFrame({ type: 'message.created', conversation_id: CONV, position: m.position, message: m })
    expect(t.get(CONV)!.messages).toHaveLength(2)
  })

  it('survives a reload: queued entries come back from IndexedDB with their ids', async () => {
    mockFetch({ 'POST /api/v1/conversations/*/messages': () => 'network' })
    const o = useOutboxStore()
    await o.restore(ME)
    await o.send(CONV, 'persist me')
    const id = o.entries[0]!.client_msg_id
    await flush()
    setActivePinia(createPinia())
    useAuthStore()
    const again = useOutboxStore()
    await again.restore(ME)
    expect(again.entries.map((e) => e.client_msg_id)).toContain(id)
    again.reset()
  })

  it('marks a rejected send as failed instead of retrying forever', async () => {
    mockFetch({ 'POST /api/v1/conversations/*/messages': () => ({ status: 404, body: { error: { code: 'not_found', message: 'x' } } }) })
    const o = useOutboxStore()
    await o.restore(ME)
    await o.send(CONV, 'nope')
    expect(o.entries[0]!.failed).toBe(true)
    o.remove(o.entries[0]!.client_msg_id)
    expect(o.entries).toHaveLength(0)
  })
})
