import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ParleySocket, positionAfter } from '@/api/socket'
import type { ServerFrame } from '@/api/types'

const CONV = '3f1c2a9e-7b4d-4c1e-9a2f-5d6e7f809a1b'
const USER = '5b0e2c1d-8f3a-4e6b-9c7d-1a2b3c4d5e6f'

/** A WebSocket stand-in the test drives by hand. */
class FakeWs {
  static all: FakeWs[] = []
  sent: string[] = []
  closed: number | null = null
  onopen: (() => void) | null = null
  onmessage: ((ev: { data: string }) => void) | null = null
  onclose: ((ev: { code: number }) => void) | null = null
  onerror: (() => void) | null = null
  constructor(public url: string) {
    FakeWs.all.push(this)
  }
  send(s: string) {
    this.sent.push(s)
  }
  close(code = 1000) {
    if (this.closed !== null) return
    this.closed = code
    this.onclose?.({ code })
  }
  open() {
    this.onopen?.()
  }
  frame(f: object) {
    this.onmessage?.({ data: JSON.stringify(f) })
  }
  serverClose(code: number) {
    this.closed = code
    this.onclose?.({ code })
  }
  get auth() {
    return JSON.parse(this.sent[0]!)
  }
}

const flush = () => vi.advanceTimersByTimeAsync(0)
const msgFrame = (pos: string, id = pos) => ({
  type: 'message.created',
  conversation_id: CONV,
  position: pos,
  message: { id, client_msg_id: id, sender_id: USER, text: id, created_at: '2025-01-01T00:00:00.000Z', position: pos, reply_to: null, mentions: [], attachments: [] },
})

function setup() {
  const frames: ServerFrame[] = []
  const readies: [boolean, string[]][] = []
  const sock = new ParleySocket({
    url: 'ws://test/api/v1/ws',
    token: async () => 'tok',
    refresh: async () => 'tok2',
    onFrame: (f) => frames.push(f),
    onReady: (resumed, replaying) => readies.push([resumed, [...replaying]]),
    WebSocketImpl: FakeWs as unknown as typeof WebSocket,
    random: () => 0.5,
  })
  return { sock, frames, readies }
}

async function connected(ready = true): Promise<FakeWs> {
  await flush()
  const ws = FakeWs.all[FakeWs.all.length - 1]!
  ws.open()
  if (ready) ws.frame({ type: 'ready', user_id: USER, session_id: USER })
  return ws
}

beforeEach(() => {
  FakeWs.all = []
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('positions', () => {
  it('compares offsets within a partition', () => {
    expect(positionAfter('p3.o9', 'p3.o10')).toBe(true)
    expect(positionAfter('p3.o10', 'p3.o10')).toBe(false)
    expect(positionAfter('p3.o10', 'p3.o2')).toBe(false)
  })
})

describe('ParleySocket resume', () => {
  it('first connect sends no resume; a reconnect resumes from the last position seen', async () => {
    const { sock, readies } = setup()
    sock.start()
    const ws = await connected()
    expect(ws.auth).toEqual({ type: 'auth', access_token: 'tok' })
    ws.frame(msgFrame('p3.o5'))
    ws.frame(msgFrame('p3.o7'))
    expect(sock.lastPosition(CONV)).toBe('p3.o7')
    ws.serverClose(1006)
    await vi.advanceTimersByTimeAsync(60_000)
    const ws2 = await connected()
    expect(ws2.auth).toEqual({ type: 'auth', access_token: 'tok', resume: { [CONV]: 'p3.o7' } })
    expect(readies).toEqual([
      [false, []],
      [true, [CONV]],
    ])
    sock.stop()
  })

  it('drops a frame whose position it already has', async () => {
    const { sock, frames } = setup()
    sock.start()
    const ws = await connected()
    ws.frame(msgFrame('p3.o5'))
    ws.frame(msgFrame('p3.o5'))
    ws.frame(msgFrame('p3.o4'))
    ws.frame(msgFrame('p3.o6'))
    const positions = frames.filter((f) => f.type === 'message.created').map((f) => (f as { position: string }).position)
    expect(positions).toEqual(['p3.o5', 'p3.o6'])
    sock.stop()
  })

  it('passes resume.gap and resume.done on to the app', async () => {
    const { sock, frames } = setup()
    sock.start()
    const ws = await connected()
    ws.frame({ type: 'resume.gap', conversation_id: CONV, from: 'p3.o5', reason: 'too_far' })
    ws.frame({ type: 'resume.done', conversation_id: CONV, position: 'p3.o5' })
    expect(frames.map((f) => f.type)).toEqual(['ready', 'resume.gap', 'resume.done'])
    sock.stop()
  })

  it('honours reconnect.after_ms instead of the backoff, then resumes', async () => {
    const { sock } = setup()
    sock.start()
    const ws = await connected()
    ws.frame(msgFrame('p3.o9'))
    ws.frame({ type: 'reconnect', after_ms: 1500 })
    await vi.advanceTimersByTimeAsync(1400)
    expect(ws.closed).toBeNull() // frames still flow until the delay ends
    ws.frame(msgFrame('p3.o10'))
    await vi.advanceTimersByTimeAsync(200)
    expect(ws.closed).toBe(4000)
    await flush()
    expect(FakeWs.all.length).toBe(2) // at once, no backoff on top
    const ws2 = await connected()
    expect(ws2.auth.resume).toEqual({ [CONV]: 'p3.o10' })
    sock.stop()
  })

  it('a 1001 close after reconnect waits out the rest of after_ms', async () => {
    const { sock } = setup()
    sock.start()
    const ws = await connected()
    ws.frame({ type: 'reconnect', after_ms: 2000 })
    await vi.advanceTimersByTimeAsync(500)
    ws.serverClose(1001)
    await vi.advanceTimersByTimeAsync(1000)
    expect(FakeWs.all.length).toBe(1)
    await vi.advanceTimersByTimeAsync(600)
    expect(FakeWs.all.length).toBe(2)
    sock.stop()
  })
})
