// The one WebSocket (/api/v1/ws). It authenticates with the first frame,
// reconnects with exponential backoff and full jitter, refreshes the token
// when the server closes with 4401, and pings to notice dead connections.
//
// Delivery: it keeps the last position it got per conversation and sends
// them on reconnect (`resume` in the auth frame), so the pusher replays what
// was missed exactly once; a frame at or before a conversation's last
// position is dropped. Conversations the server cannot replay come back as
// resume.gap frames, which the app answers with its REST catch-up. A
// draining pusher sends reconnect{after_ms}: the socket moves after that
// delay instead of backing off. After every `ready` onReady tells the app
// which conversations are being replayed; the rest need the REST catch-up.
import type { Position, ServerFrame, Uuid } from './types'

export type SocketState = 'idle' | 'connecting' | 'open' | 'closed'

export interface SocketOptions {
  url: string
  /** a valid access token, or null when signed out */
  token: () => Promise<string | null>
  /** force a refresh after a 4401 close; null means signed out */
  refresh: (stale: string) => Promise<string | null>
  onFrame: (f: ServerFrame) => void
  /** resumed: not the first ready; replaying: conversations the server replays */
  onReady: (resumed: boolean, replaying: ReadonlySet<Uuid>) => void
  onState?: (s: SocketState) => void
  /** for tests */
  WebSocketImpl?: typeof WebSocket
  random?: () => number
}

const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 30_000
const PING_EVERY_MS = 25_000
const PONG_TIMEOUT_MS = 10_000
/** The server replays at most this many conversations (PARLEY_RESUME_MAX_CONVERSATIONS). */
export const RESUME_MAX = 100

/** "p3.o17" -> [3, 17]; null for anything else. */
function parsePosition(p: string): [number, number] | null {
  const m = /^p(\d+)\.o(\d+)$/.exec(p)
  return m ? [Number(m[1]), Number(m[2])] : null
}

/** true when b is after a (same partition: a conversation's positions share one). */
export function positionAfter(a: Position, b: Position): boolean {
  const x = parsePosition(a)
  const y = parsePosition(b)
  if (!x || !y) return true
  return x[0] !== y[0] || y[1] > x[1]
}

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16))
  return Math.max(100, Math.floor(random() * ceiling))
}

export function defaultSocketUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${proto}//${location.host}/api/v1/ws`
}

export class ParleySocket {
  private ws: WebSocket | null = null
  private attempt = 0
  private timer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private pongTimer: ReturnType<typeof setTimeout> | null = null
  private stopped = true
  private everReady = false
  private token: string | null = null
  /** conversation -> newest position received, newest-touched last */
  private readonly positions = new Map<Uuid, Position>()
  private replaying = new Set<Uuid>()
  /** epoch ms a draining server asked us to reconnect at */
  private moveAt: number | null = null
  private moveTimer: ReturnType<typeof setTimeout> | null = null
  state: SocketState = 'idle'

  constructor(private readonly o: SocketOptions) {}

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onOnline)
      window.addEventListener('offline', this.onOffline)
    }
    void this.connect()
  }

  stop(): void {
    this.stopped = true
    this.clearTimers()
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onOnline)
      window.removeEventListener('offline', this.onOffline)
    }
    const ws = this.ws
    this.ws = null
    ws?.close(1000)
    this.setState('idle')
  }

  /** Reconnect now (e.g. the browser came back online), skipping the backoff. */
  kick(): void {
    if (this.stopped || this.state === 'open' || this.state === 'connecting') return
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.attempt = 0
    void this.connect()
  }

  send(frame: object): boolean {
    if (this.ws && this.state === 'open') {
      this.ws.send(JSON.stringify(frame))
      return true
    }
    return false
  }

  private onOnline = () => this.kick()
  private onOffline = () => {
    // Emulated or real offline: the socket may linger half-open; drop it.
    this.ws?.close(4000)
  }

  private setState(s: SocketState) {
    this.state = s
    this.o.onState?.(s)
  }

  private clearTimers() {
    if (this.timer) clearTimeout(this.timer)
    if (this.pingTimer) clearInterval(this.pingTimer)
    if (this.pongTimer) clearTimeout(this.pongTimer)
    if (this.moveTimer) clearTimeout(this.moveTimer)
    this.timer = this.pingTimer = this.pongTimer = this.moveTimer = null
  }

  /** The last position received for a conversation (for tests and the app). */
  lastPosition(convId: Uuid): Position | undefined {
    return this.positions.get(convId)
  }

  /** The resume map: the most recently active conversations first. */
  private resumeMap(): Record<Uuid, Position> | null {
    const entries = [...this.positions].slice(-RESUME_MAX)
    if (entries.length === 0) return null
    return Object.fromEntries(entries)
  }

  /** false for a frame this socket has already had (by position). */
  private fresh(f: ServerFrame): boolean {
    if (f.type === 'resume.done' || f.type === 'resume.gap') return true
    if (!('conversation_id' in f) || !('position' in f)) return true
    const last = this.positions.get(f.conversation_id)
    if (last && !positionAfter(last, f.position)) return false
    this.positions.delete(f.conversation_id) // re-insert: newest-touched last
    this.positions.set(f.conversation_id, f.position)
    if (this.positions.size > RESUME_MAX) this.positions.delete(this.positions.keys().next().value!)
    return true
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    this.setState('connecting')
    let token: string | null
    try {
      token = await this.o.token()
    } catch {
      return this.scheduleReconnect()
    }
    if (this.stopped) return
    if (!token) return this.stop()
    this.token = token
    const Impl = this.o.WebSocketImpl ?? WebSocket
    let ws: WebSocket
    try {
      ws = new Impl(this.o.url)
    } catch {
      return this.scheduleReconnect()
    }
    this.ws = ws
    this.moveAt = null
    const resume = this.resumeMap()
    this.replaying = new Set(resume ? Object.keys(resume) : [])
    ws.onopen = () => ws.send(JSON.stringify(resume ? { type: 'auth', access_token: token, resume } : { type: 'auth', access_token: token }))
    ws.onmessage = (ev) => this.onMessage(ws, ev)
    ws.onclose = (ev) => void this.onClose(ws, ev.code)
    ws.onerror = () => {
      /* onclose follows */
    }
  }

  private onMessage(ws: WebSocket, ev: MessageEvent) {
    if (ws !== this.ws) return
    let f: ServerFrame
    try {
      f = JSON.parse(String(ev.data)) as ServerFrame
    } catch {
      return
    }
    if (f.type === 'ready') {
      this.attempt = 0
      this.setState('open')
      this.startPing()
      const resumed = this.everReady
      this.everReady = true
      this.o.onFrame(f)
      this.o.onReady(resumed, this.replaying)
      return
    }
    if (f.type === 'pong') {
      if (this.pongTimer) clearTimeout(this.pongTimer)
      this.pongTimer = null
      return
    }
    if (f.type === 'reconnect') {
      // The pusher is draining: move after its jittered delay (it keeps
      // sending until then, and closes with 1001 after it).
      this.moveAt = Date.now() + Math.max(0, f.after_ms)
      if (this.moveTimer) clearTimeout(this.moveTimer)
      this.moveTimer = setTimeout(() => {
        if (this.ws === ws) ws.close(4000)
      }, Math.max(0, f.after_ms))
      return
    }
    if (!this.fresh(f)) return
    this.o.onFrame(f)
  }

  private startPing() {
    if (this.pingTimer) clearInterval(this.pingTimer)
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: 'ping' })) return
      if (this.pongTimer) return
      this.pongTimer = setTimeout(() => this.ws?.close(4000), PONG_TIMEOUT_MS)
    }, PING_EVERY_MS)
  }

  private async onClose(ws: WebSocket, code: number) {
    if (ws !== this.ws) return
    this.ws = null
    this.clearTimers()
    if (this.stopped) return
    this.setState('closed')
    if (this.moveAt !== null) {
      // Asked to move: come back when told, not on the backoff schedule.
      const delay = Math.max(0, this.moveAt - Date.now())
      this.moveAt = null
      this.timer = setTimeout(() => {
        this.timer = null
        void this.connect()
      }, delay)
      return
    }
    if (code === 4401 && this.token) {
      // Expired or revoked token: refresh once, then reconnect at once.
      let fresh: string | null = null
      try {
        fresh = await this.o.refresh(this.token)
      } catch {
        return this.scheduleReconnect()
      }
      if (!fresh) return this.stop()
      if (this.attempt === 0) {
        this.attempt = 1
        return void this.connect()
      }
    }
    this.scheduleReconnect()
  }

  private scheduleReconnect() {
    if (this.stopped) return
    this.setState('closed')
    const delay = backoffDelay(this.attempt++, this.o.random)
    this.timer = setTimeout(() => {
      this.timer = null
      void this.connect()
    }, delay)
  }
}
