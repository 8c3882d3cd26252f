import { vi } from 'vitest'
import type { Message } from '@/api/types'

let n = 0
export function msg(offset: number, over: Partial<Message> = {}): Message {
  n++
  return {
    id: over.id ?? `00000000-0000-4000-8000-${String(offset).padStart(12, '0')}`,
    conversation_id: 'c0000000-0000-4000-8000-000000000001',
    client_msg_id: `cm-${offset}-${n}`,
    sender_id: 'u0000000-0000-4000-8000-00000000000a',
    text: `message ${offset}`,
    created_at: new Date(Date.UTC(2025, 0, 31, 12, 0, offset % 60)).toISOString(),
    position: `p7.o${offset}`,
    ...over,
  }
}

export interface Call {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
  auth: string | null
}

type Handler = (c: Call) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }> | 'network'

/** Replace fetch with a router over handlers keyed "METHOD /path". */
export function mockFetch(routes: Record<string, Handler>) {
  const calls: Call[] = []
  const fn = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input), 'http://localhost')
    const c: Call = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      auth: (init?.headers as Record<string, string> | undefined)?.Authorization ?? null,
    }
    calls.push(c)
    const key = `${c.method} ${c.path}`
    const h = routes[key] ?? Object.entries(routes).find(([k]) => new RegExp('^' + k.replace(/\*/g, '[^/]+') + '$').test(key))?.[1]
    if (!h) return new Response(JSON.stringify({ error: { code: 'not_found', message: key } }), { status: 404 })
    const r = await h(c)
    if (r === 'network') throw new TypeError('Failed to fetch')
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), {
      status: r.status,
      headers: { 'Content-Type': 'application/json' },
    })
  })
  vi.stubGlobal('fetch', fn)
  return calls
}

export const ME = 'u0000000-0000-4000-8000-00000000000a'
export const OTHER = 'u0000000-0000-4000-8000-00000000000b'
export const CONV = 'c0000000-0000-4000-8000-000000000001'

export function session(access = 'tok-1', refresh = 'r'.repeat(43), ttlMs = 900_000) {
  return {
    access_token: access,
    refresh_token: refresh,
    expires_at: Date.now() + ttlMs,
    user: { id: ME, username: 'me', display_name: 'Me', created_at: '2025-01-01T00:00:00.000Z' },
  }
}
