import { describe, expect, it } from 'vitest'
import { buildRows, comparePositions, mergeMessages, newest, positionOffset } from '@/lib/timeline'
import { ME, OTHER, msg } from './helpers'

describe('positions', () => {
  it('orders by offset, not by string', () => {
    expect(comparePositions('p3.o9', 'p3.o10')).toBe(-1)
    expect('p3.o9' < 'p3.o10').toBe(false) // why we parse
    expect(comparePositions('p3.o10', 'p3.o10')).toBe(0)
    expect(comparePositions('p3.o100', 'p3.o99')).toBe(1)
  })
  it('handles offsets beyond 2^53', () => {
    expect(positionOffset('p1.o9007199254740993')).toBe(9007199254740993n)
    expect(comparePositions('p1.o9007199254740993', 'p1.o9007199254740992')).toBe(1)
  })
})

describe('mergeMessages', () => {
  it('merges an older page in front', () => {
    const live = [msg(20), msg(21)]
    const older = [msg(10), msg(11), msg(12)]
    expect(mergeMessages(live, older).map((m) => m.position)).toEqual(['p7.o10', 'p7.o11', 'p7.o12', 'p7.o20', 'p7.o21'])
  })
  it('appends live messages on the fast path and keeps order', () => {
    const page = [msg(1), msg(2)]
    const out = mergeMessages(page, [msg(3)])
    expect(out.map((m) => m.position)).toEqual(['p7.o1', 'p7.o2', 'p7.o3'])
  })
  it('sorts a live frame that arrives out of order', () => {
    const out = mergeMessages([msg(1), msg(5)], [msg(3)])
    expect(out.map((m) => m.position)).toEqual(['p7.o1', 'p7.o3', 'p7.o5'])
  })
  it('dedupes by message id (frame after page, twice-pushed retry)', () => {
    const a = msg(9)
    const dupEvent = { ...a, position: 'p7.o12' } // a retried send: same id, second event
    const out = mergeMessages([msg(8), a], [a, dupEvent, msg(10)])
    expect(out.map((m) => m.id)).toEqual([msg(8).id, a.id, msg(10).id])
    expect(out.find((m) => m.id === a.id)!.position).toBe('p7.o9') // first copy kept
  })
  it('dedupes inside one incoming batch', () => {
    const a = msg(4)
    expect(mergeMessages([], [a, a, a])).toHaveLength(1)
  })
  it('returns the same array when nothing changed', () => {
    const list = [msg(1), msg(2)]
    expect(mergeMessages(list, [list[0]!])).toBe(list)
    expect(mergeMessages(list, [])).toBe(list)
  })
  it('lets an authoritative page replace a provisional copy', () => {
    const ack = msg(30, { created_at: '2025-01-31T12:00:00.000Z' })
    const stored = { ...ack, created_at: '2025-01-31T12:00:00.250Z' }
    const out = mergeMessages([ack], [stored], true)
    expect(out[0]!.created_at).toBe(stored.created_at)
    const kept = mergeMessages([ack], [stored], () => false)
    expect(kept[0]!.created_at).toBe(ack.created_at)
  })
  it('keeps 10,000 messages ordered and unique under random interleaving', () => {
    const all = Array.from({ length: 10_000 }, (_, i) => msg(i + 1))
    let tl = mergeMessages([], all.slice(9_950)) // newest page
    for (let end = 9_950; end > 0; end -= 50) tl = mergeMessages(tl, all.slice(Math.max(0, end - 50), end)) // scroll back
    for (let i = 0; i < 200; i++) tl = mergeMessages(tl, [all[Math.floor(Math.random() * all.length)]!]) // replays
    expect(tl).toHaveLength(10_000)
    let ordered = true
    for (let i = 1; i < tl.length; i++) ordered &&= comparePositions(tl[i - 1]!.position, tl[i]!.position) === -1
    expect(ordered).toBe(true)
  })
  it('newest keeps the tail', () => {
    expect(newest([msg(1), msg(2), msg(3)], 2).map((m) => m.position)).toEqual(['p7.o2', 'p7.o3'])
  })
})

describe('buildRows', () => {
  const at = (iso: string) => ({ created_at: iso })
  it('inserts a date separator per local day', () => {
    const rows = buildRows(
      [msg(1, at('2025-01-30T10:00:00.000Z')), msg(2, at('2025-01-30T10:01:00.000Z')), msg(3, at('2025-02-02T10:00:00.000Z'))],
      [],
      ME,
    )
    expect(rows.map((r) => r.kind)).toEqual(['date', 'message', 'message', 'date', 'message'])
  })
  it('groups consecutive messages of one sender within five minutes', () => {
    const rows = buildRows(
      [
        msg(1, at('2025-01-30T10:00:00.000Z')),
        msg(2, at('2025-01-30T10:01:00.000Z')),
        msg(3, { ...at('2025-01-30T10:02:00.000Z'), sender_id: OTHER }),
        msg(4, { ...at('2025-01-30T10:20:00.000Z'), sender_id: OTHER }),
      ],
      [],
      ME,
    ).filter((r) => r.kind === 'message')
    expect(rows.map((r) => r.kind === 'message' && [r.groupStart, r.groupEnd])).toEqual([
      [true, false],
      [false, true],
      [true, true],
      [true, true],
    ])
    expect(rows.map((r) => r.kind === 'message' && r.own)).toEqual([true, true, false, false])
  })
  it('shows a pending send once, and hides it once confirmed', () => {
    const pending = { client_msg_id: 'abc', conversation_id: 'c', text: 'hi', created_at: '2025-01-30T10:05:00.000Z' }
    const before = buildRows([msg(1, at('2025-01-30T10:00:00.000Z'))], [pending], ME).filter((r) => r.kind === 'message')
    expect(before).toHaveLength(2)
    expect(before[1]!.kind === 'message' && before[1]!.pending).toBe(true)
    const confirmed = msg(2, { client_msg_id: 'abc', text: 'hi', ...at('2025-01-30T10:05:00.000Z') })
    const after = buildRows([msg(1, at('2025-01-30T10:00:00.000Z')), confirmed], [pending], ME).filter((r) => r.kind === 'message')
    expect(after).toHaveLength(2)
    expect(after.every((r) => r.kind === 'message' && !r.pending)).toBe(true)
  })
})
