// The one WebSocket (/api/v1/ws). It authenticates with the first frame,
// reconnects with exponential backoff and full jitter, refreshes the token
// when the server closes with 4401, and pings to notice dead connections.
// After every `ready` it calls onReady so the app can catch up over REST:
// the pusher only delivers events produced while the socket is open.
import type { ServerFrame } from './types'

export type SocketState = 'idle' | 'connecting' | 'open' | 'closed'

export interface SocketOptions {
  url: string
  /** a valid access token, or null when signed out */
  token: () => Promise<string | null>
  /** force a refresh after a 4401 close; null means signed out */
  refresh: (stale: string) => Promise<string | null>
  onFrame: (f: ServerFrame) => void
  onReady: (resumed: boolean) => void
  onState?: (s: SocketState) => void
  /** for tests */
  WebSocketImpl?: typeof WebSocket
  random?: () => number
}

const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 30_000
const PING_EVERY_MS = 25_000
const PONG_TIMEOUT_MS = 10_000

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
    this.timer = this.pingTimer = this.pongTimer = null
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
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', access_token: token }))
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
      this.o.onReady(resumed)
      return
    }
    if (f.type === 'pong') {
      if (this.pongTimer) clearTimeout(this.pongTimer)
      this.pongTimer = null
      return
    }
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
