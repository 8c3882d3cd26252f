// The one module that talks REST. Every call goes through request(), which
// adds the access token, refreshes it once on 401 (single-flight, shared by
// concurrent callers and, through a Web Lock, by other tabs) and turns error
// bodies into ApiError.
import type { paths } from './schema'
import type {
  Attachment, Conversation, CreateConversationRequest, ErrorCode, Invite, Message, MessagePage, Position,
  ProfilePatch, PublicConversation, Role, SearchPage, SendMessageAccepted, SendMessageRequest, Session as ApiSession,
  TokenPair, UpdateConversationRequest, User, UserSummary, Uuid, WriteAccepted,
} from './types'

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode | string, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}

/** fetch itself failed: offline, DNS, connection refused. Safe to retry. */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super('network error', { cause })
    this.name = 'NetworkError'
  }
}

export interface Session {
  access_token: string
  refresh_token: string
  /** epoch ms when the access token expires */
  expires_at: number
  user: User
}

/** Where the session lives; the auth store provides it (localStorage-backed). */
export interface SessionStore {
  get(): Session | null
  set(s: Session | null): void
}

let store: SessionStore = {
  get: () => null,
  set: () => {},
}
let onSignedOut: () => void = () => {}

export function configureSession(s: SessionStore, signedOut: () => void): void {
  store = s
  onSignedOut = signedOut
}

export function sessionFromPair(p: TokenPair, now = Date.now()): Session {
  return {
    access_token: p.access_token,
    refresh_token: p.refresh_token,
    expires_at: now + p.expires_in * 1000,
    user: p.user,
  }
}

const base = '/api/v1'
type StripBase<K> = K extends `/api/v1${infer R}` ? R : never
type ApiPath = StripBase<keyof paths>
// Paths are checked against the schema: a template like `/conversations/${string}`
// must still match an OpenAPI path once its {id} is substituted.
type Templated<P extends string> = P extends `${infer A}{${string}}${infer B}` ? `${A}${string}${Templated<B>}` : P
type CallPath = Templated<ApiPath>

interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | undefined>
  auth?: boolean
  signal?: AbortSignal
}

async function rawFetch(method: string, path: string, opts: RequestOptions, token?: string): Promise<Response> {
  let url = base + path
  if (opts.query) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) q.set(k, String(v))
    const s = q.toString()
    if (s) url += '?' + s
  }
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`
  try {
    return await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
    })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new NetworkError(e)
  }
}

async function toError(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status
  let message = res.statusText
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string } }
    if (j.error?.code) code = j.error.code
    if (j.error?.message) message = j.error.message
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message)
}

// ---- token refresh -------------------------------------------------------

let refreshing: Promise<Session | null> | null = null

/** Refresh tokens are single-use and reuse revokes the session, so exactly one
 * refresh may be in flight per browser: concurrent callers share one promise,
 * and other tabs are excluded by a Web Lock (each re-reads the stored session
 * inside the lock and skips the refresh if another tab already rotated it). */
export function refreshSession(stale?: string): Promise<Session | null> {
  if (!refreshing) {
    refreshing = withLock(() => doRefresh(stale)).finally(() => {
      refreshing = null
    })
  }
  return refreshing
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
  if (locks?.request) return locks.request('parley-refresh', fn) as Promise<T>
  return fn()
}

async function doRefresh(stale?: string): Promise<Session | null> {
  const cur = store.get()
  if (!cur) return null
  if (stale && cur.access_token !== stale && cur.expires_at - Date.now() > 30_000) return cur
  const res = await rawFetch('POST', '/auth/refresh', { body: { refresh_token: cur.refresh_token } })
  if (res.ok) {
    const s = sessionFromPair((await res.json()) as TokenPair)
    store.set(s)
    return s
  }
  const err = await toError(res)
  if (res.status === 401 || res.status === 400) {
    // Another tab may have rotated the token between our read and the lock.
    const again = store.get()
    if (again && again.refresh_token !== cur.refresh_token) return again
    store.set(null)
    onSignedOut()
    return null
  }
  throw err
}

/** A usable access token, refreshed ahead of expiry; null when signed out. */
export async function accessToken(): Promise<string | null> {
  const s = store.get()
  if (!s) return null
  if (s.expires_at - Date.now() > 30_000) return s.access_token
  return (await refreshSession(s.access_token))?.access_token ?? null
}

export async function request<T>(method: string, path: CallPath, opts: RequestOptions = {}): Promise<T> {
  const auth = opts.auth ?? true
  let token: string | undefined
  if (auth) {
    token = (await accessToken()) ?? undefined
    if (!token) throw new ApiError(401, 'unauthenticated', 'signed out')
  }
  let res = await rawFetch(method, path, opts, token)
  if (res.status === 401 && auth) {
    const s = await refreshSession(token)
    if (!s) throw new ApiError(401, 'unauthenticated', 'signed out')
    res = await rawFetch(method, path, opts, s.access_token)
  }
  if (!res.ok) throw await toError(res)
  if (res.status === 204) return undefined as T
  return (await res.json()) as T
}

/** Upload a file as the raw body (POST /attachments?filename=), reporting
 * progress; XHR because fetch has no upload progress. */
export async function uploadAttachment(
  file: Blob,
  filename: string,
  onProgress?: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<Attachment> {
  const attempt = (token: string) =>
    new Promise<{ status: number; body: string }>((ok, fail) => {
      const xhr = new XMLHttpRequest()
      xhr.open('POST', `${base}/attachments?filename=${encodeURIComponent(filename)}`)
      xhr.setRequestHeader('Authorization', `Bearer ${token}`)
      xhr.setRequestHeader('Content-Type', 'application/octet-stream')
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded / e.total)
      xhr.onload = () => ok({ status: xhr.status, body: xhr.responseText })
      xhr.onerror = () => fail(new NetworkError(null))
      xhr.onabort = () => fail(new DOMException('aborted', 'AbortError'))
      signal?.addEventListener('abort', () => xhr.abort())
      xhr.send(file)
    })
  let token = await accessToken()
  if (!token) throw new ApiError(401, 'unauthenticated', 'signed out')
  let r = await attempt(token)
  if (r.status === 401) {
    token = (await refreshSession(token))?.access_token ?? null
    if (!token) throw new ApiError(401, 'unauthenticated', 'signed out')
    r = await attempt(token)
  }
  if (r.status < 200 || r.status >= 300) {
    let code = 'http_' + r.status
    let message = ''
    try {
      const j = JSON.parse(r.body) as { error?: { code?: string; message?: string } }
      code = j.error?.code ?? code
      message = j.error?.message ?? ''
    } catch {
      /* not JSON */
    }
    throw new ApiError(r.status, code, message)
  }
  return JSON.parse(r.body) as Attachment
}

/** An attachment's bytes with the bearer token (img src cannot carry it). */
export async function fetchAttachment(id: Uuid): Promise<Blob> {
  let token = await accessToken()
  if (!token) throw new ApiError(401, 'unauthenticated', 'signed out')
  let res = await rawFetch('GET', `/attachments/${id}`, {}, token)
  if (res.status === 401) {
    token = (await refreshSession(token))?.access_token ?? null
    if (!token) throw new ApiError(401, 'unauthenticated', 'signed out')
    res = await rawFetch('GET', `/attachments/${id}`, {}, token)
  }
  if (!res.ok) throw await toError(res)
  return res.blob()
}

const enc = encodeURIComponent

// ---- typed calls ----------------------------------------------------------

export const api = {
  register: (username: string, password: string, display_name: string) =>
    request<{ user: User }>('POST', '/auth/register', { body: { username, password, display_name }, auth: false }),
  login: (username: string, password: string) =>
    request<TokenPair>('POST', '/auth/login', { body: { username, password }, auth: false }),
  logout: () => request<void>('POST', '/auth/logout'),
  searchUsers: (query: string, limit = 20) =>
    request<{ users: UserSummary[] }>('GET', '/users', { query: { query, limit } }),
  getUser: (id: Uuid) => request<{ user: User }>('GET', `/users/${id}`),
  listConversations: (min_position?: Position) =>
    request<{ conversations: Conversation[] }>('GET', '/conversations', { query: { min_position } }),
  getConversation: (id: Uuid, min_position?: Position) =>
    request<{ conversation: Conversation }>('GET', `/conversations/${id}`, { query: { min_position } }),
  createConversation: (body: CreateConversationRequest) =>
    request<{ conversation: Conversation }>('POST', '/conversations', { body }),
  listMessages: (
    id: Uuid,
    q: { before?: Position; after?: Position; around?: Uuid; limit?: number; min_position?: Position } = {},
  ) => request<MessagePage>('GET', `/conversations/${id}/messages`, { query: q }),
  markRead: (id: Uuid, position: Position) =>
    request<{ position: Position }>('POST', `/conversations/${id}/read`, { body: { position } }),
  sendMessage: (id: Uuid, body: SendMessageRequest) =>
    request<SendMessageAccepted>('POST', `/conversations/${id}/messages`, { body }),
  editMessage: (id: Uuid, mid: Uuid, text: string) =>
    request<WriteAccepted>('PATCH', `/conversations/${id}/messages/${mid}`, { body: { text } }),
  deleteMessage: (id: Uuid, mid: Uuid) => request<WriteAccepted>('DELETE', `/conversations/${id}/messages/${mid}`),
  react: (id: Uuid, mid: Uuid, emoji: string) =>
    request<WriteAccepted>('PUT', `/conversations/${id}/messages/${mid}/reactions/${enc(emoji)}`),
  unreact: (id: Uuid, mid: Uuid, emoji: string) =>
    request<WriteAccepted>('DELETE', `/conversations/${id}/messages/${mid}/reactions/${enc(emoji)}`),
  typing: (id: Uuid) => request<object>('POST', `/conversations/${id}/typing`),
  search: (q: string, conversation_id?: Uuid, cursor?: string, limit = 20) =>
    request<SearchPage>('GET', '/search', { query: { q, conversation_id, cursor, limit } }),
  me: () => request<{ user: User }>('GET', '/users/me'),
  updateMe: (body: ProfilePatch) => request<{ user: User }>('PATCH', '/users/me', { body }),
  changePassword: (current_password: string, new_password: string) =>
    request<unknown>('POST', '/auth/password', { body: { current_password, new_password } }),
  sessions: () => request<{ sessions: ApiSession[] }>('GET', '/auth/sessions'),
  revokeSession: (sid: Uuid) => request<unknown>('DELETE', `/auth/sessions/${sid}`),
  updateConversation: (id: Uuid, body: UpdateConversationRequest) =>
    request<WriteAccepted>('PATCH', `/conversations/${id}`, { body }),
  deleteConversation: (id: Uuid) => request<WriteAccepted>('DELETE', `/conversations/${id}`),
  addMember: (id: Uuid, user_id: Uuid) => request<WriteAccepted>('POST', `/conversations/${id}/members`, { body: { user_id } }),
  setRole: (id: Uuid, user_id: Uuid, role: Role) =>
    request<WriteAccepted>('PATCH', `/conversations/${id}/members/${user_id}`, { body: { role } }),
  removeMember: (id: Uuid, user_id: Uuid) => request<WriteAccepted>('DELETE', `/conversations/${id}/members/${user_id}`),
  createInvite: (id: Uuid, body: { expires_in_s?: number; max_uses?: number | null } = {}) =>
    request<Invite>('POST', `/conversations/${id}/invites`, { body }),
  acceptInvite: (code: string) => request<{ conversation: Conversation }>('POST', `/invites/${code}/accept`),
  publicGroups: (query: string, limit = 20) =>
    request<{ conversations: PublicConversation[] }>('GET', '/conversations/public', { query: { query, limit } }),
  join: (id: Uuid) => request<{ conversation: Conversation }>('POST', `/conversations/${id}/join`),
}

export type { Message }
