// Pure timeline logic: ordering, merging pages and live events, and turning
// messages into rows (date separators, grouping). No Vue, no I/O, so the
// unit tests can hammer it.
import type { Attachment, Message, Position, Reaction, Uuid } from '@/api/types'

/** Positions are opaque to the API, but inside one conversation all events sit
 * on one partition and the offset orders them. We need that order to merge live
 * frames, acks and pages; comparing the strings would put "o10" before "o9".
 * Only ever compare positions of the same conversation. */
export function positionOffset(p: Position): bigint {
  const i = p.lastIndexOf('.o')
  if (i < 0) return -1n
  try {
    return BigInt(p.slice(i + 2))
  } catch {
    return -1n
  }
}

export function comparePositions(a: Position, b: Position): number {
  const x = positionOffset(a)
  const y = positionOffset(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Merge messages into an ordered, de-duplicated list (by id).
 * A message may arrive several times (page, 202 ack, one or two frames for a
 * retried send): the first copy keeps its place unless `replace` says the
 * incoming copy is authoritative (a history page is). Returns the same array
 * when nothing changed so watchers stay quiet. */
export function mergeMessages(
  existing: readonly Message[],
  incoming: readonly Message[],
  replace: boolean | ((old: Message, incoming: Message) => boolean) = false,
): Message[] {
  const shouldReplace = typeof replace === 'function' ? replace : () => replace
  if (incoming.length === 0) return existing as Message[]
  const byId = new Map<string, number>()
  existing.forEach((m, i) => byId.set(m.id, i))
  const out = existing.slice()
  const added: Message[] = []
  let changed = false
  for (const m of incoming) {
    const i = byId.get(m.id)
    if (i === undefined) {
      byId.set(m.id, -1)
      added.push(m)
      changed = true
    } else if (i >= 0 && out[i] !== m && shouldReplace(out[i]!, m) && !sameMessage(out[i]!, m)) {
      out[i] = m
      changed = true
    }
  }
  if (!changed) return existing as Message[]
  if (added.length === 0) return out.sort((a, b) => comparePositions(a.position, b.position))
  // Fast path: live messages usually land after everything we have.
  added.sort((a, b) => comparePositions(a.position, b.position))
  const last = out[out.length - 1]
  if (!last || comparePositions(last.position, added[0]!.position) < 0) return out.concat(added)
  // And older pages land before everything.
  if (comparePositions(added[added.length - 1]!.position, out[0]!.position) < 0) return added.concat(out)
  return out.concat(added).sort((a, b) => comparePositions(a.position, b.position))
}

function sameMessage(a: Message, b: Message): boolean {
  return (
    a.position === b.position && a.text === b.text && a.created_at === b.created_at &&
    (a.edited_at ?? null) === (b.edited_at ?? null) && (a.deleted_at ?? null) === (b.deleted_at ?? null) &&
    JSON.stringify(a.reactions ?? []) === JSON.stringify(b.reactions ?? []) &&
    JSON.stringify(a.quoted ?? null) === JSON.stringify(b.quoted ?? null) &&
    (a.attachments?.length ?? 0) === (b.attachments?.length ?? 0)
  )
}

// ---- edits, deletions, reactions -------------------------------------------

export function applyEdit(m: Message, text: string, editedAt: string, mentions: Uuid[]): Message {
  if (m.deleted_at) return m
  return { ...m, text, edited_at: editedAt, mentions }
}

/** A tombstone: no text, attachments, reactions or mentions. */
export function applyDelete(m: Message, deletedAt: string): Message {
  if (m.deleted_at) return m
  return { ...m, text: '', attachments: [], reactions: [], mentions: [], deleted_at: deletedAt }
}

/** One user's reaction added (+1) or removed (-1). Our own reactions are
 * idempotent through `me` (an optimistic update and the frame that confirms
 * it count once). Returns the same object when nothing changes. */
export function applyReaction(m: Message, emoji: string, delta: 1 | -1, mine: boolean): Message {
  if (m.deleted_at) return m
  const list: Reaction[] = (m.reactions ?? []).map((r) => ({ ...r }))
  const i = list.findIndex((r) => r.emoji === emoji)
  const r = i >= 0 ? list[i]! : undefined
  if (delta > 0) {
    if (mine && r?.me) return m
    if (r) {
      r.count++
      if (mine) r.me = true
    } else list.push({ emoji, count: 1, me: mine })
  } else {
    if (!r || (mine && !r.me)) return m
    r.count--
    if (mine) r.me = false
    if (r.count <= 0) list.splice(i, 1)
  }
  return { ...m, reactions: list }
}

// ---- text helpers ----------------------------------------------------------

export interface Part {
  text: string
  mark?: boolean
  /** a mention: the username */
  mention?: string
}

/** Search snippets mark matches with U+0002 ... U+0003. Split them into parts
 * the template renders as text nodes (never HTML), so user text stays inert. */
export function highlightParts(s: string): Part[] {
  const out: Part[] = []
  let mark = false
  let cur = ''
  for (const ch of s) {
    if (ch === '\u0002' || ch === '\u0003') {
      if (cur) out.push(mark ? { text: cur, mark: true } : { text: cur })
      cur = ''
      mark = ch === '\u0002'
    } else cur += ch
  }
  if (cur) out.push(mark ? { text: cur, mark: true } : { text: cur })
  return out
}

const MENTION = /(^|[^\w@.])@([a-z0-9_.]{3,32})/gi

/** Split a message into text and @mention parts. */
export function mentionParts(text: string): Part[] {
  const out: Part[] = []
  let last = 0
  for (const m of text.matchAll(MENTION)) {
    const start = m.index! + m[1]!.length
    if (start > last) out.push({ text: text.slice(last, start) })
    out.push({ text: '@' + m[2]!, mention: m[2]!.toLowerCase().replace(/\.+$/, '') })
    last = start + 1 + m[2]!.length
  }
  if (last < text.length) out.push({ text: text.slice(last) })
  return out
}

/** The @word being typed at the caret, for autocomplete. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret)
  const m = /(^|\s)@([a-z0-9_.]{0,32})$/i.exec(before)
  if (!m) return null
  return { start: caret - m[2]!.length - 1, query: m[2]!.toLowerCase() }
}

/** Keep the newest `n` messages (for the offline cache). */
export function newest(messages: readonly Message[], n: number): Message[] {
  return messages.length <= n ? messages.slice() : messages.slice(messages.length - n)
}

// ---- rows ------------------------------------------------------------------

export interface PendingMessage {
  client_msg_id: string
  conversation_id: string
  text: string
  created_at: string
  failed?: boolean
  attachments?: Attachment[]
  reply_to?: Uuid
}

export type Row =
  | { kind: 'date'; key: string; day: string; date: string }
  | {
      kind: 'message'
      key: string
      message: Message | PendingMessage
      own: boolean
      pending: boolean
      failed: boolean
      /** first of a run of consecutive messages by one sender */
      groupStart: boolean
      /** last of such a run */
      groupEnd: boolean
    }

const GROUP_GAP_MS = 5 * 60_000

export function dayKey(iso: string): string {
  const d = new Date(iso)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

/** Messages (confirmed, ordered) followed by own pending sends, with a date
 * separator at each new local day and consecutive messages of one sender
 * (within five minutes) grouped. Pending sends already confirmed (same
 * client_msg_id) are skipped, so a message never shows twice. */
export function buildRows(messages: readonly Message[], pending: readonly PendingMessage[], me: string): Row[] {
  const rows: Row[] = []
  const confirmed = new Set<string>()
  for (const m of messages) if (m.sender_id === me) confirmed.add(m.client_msg_id)
  type Item = { m: Message | PendingMessage; sender: string; pending: boolean; failed: boolean; key: string }
  const items: Item[] = messages.map((m) => ({ m, sender: m.sender_id, pending: false, failed: false, key: m.id }))
  for (const p of pending) {
    if (confirmed.has(p.client_msg_id)) continue
    items.push({ m: p, sender: me, pending: true, failed: !!p.failed, key: 'local:' + p.client_msg_id })
  }
  let prevDay = ''
  let prev: Item | null = null
  let prevRow: Extract<Row, { kind: 'message' }> | null = null
  for (const it of items) {
    const day = dayKey(it.m.created_at)
    let groupStart = true
    if (day !== prevDay) {
      rows.push({ kind: 'date', key: 'd:' + day, day, date: it.m.created_at })
      prevDay = day
    } else if (prev && prev.sender === it.sender) {
      const gap = Date.parse(it.m.created_at) - Date.parse(prev.m.created_at)
      groupStart = gap > GROUP_GAP_MS
    }
    if (groupStart && prevRow) prevRow.groupEnd = true
    const row: Extract<Row, { kind: 'message' }> = {
      kind: 'message',
      key: it.key,
      message: it.m,
      own: it.sender === me,
      pending: it.pending,
      failed: it.failed,
      groupStart,
      groupEnd: false,
    }
    rows.push(row)
    prev = it
    prevRow = row
  }
  if (prevRow) prevRow.groupEnd = true
  return rows
}
