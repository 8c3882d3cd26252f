import { describe, expect, it } from 'vitest'
import type { Message } from '@/api/types'
import { applyDelete, applyEdit, applyReaction, highlightParts, mentionParts, mentionQuery } from '@/lib/timeline'

const base: Message = {
  id: 'm1', conversation_id: 'c', client_msg_id: 'x', sender_id: 'u1', text: 'hello', created_at: '2025-01-01T00:00:00.000Z',
  position: 'p0.o5', reactions: [], mentions: [],
}

describe('message events', () => {
  it('edits text and mentions, but never a tombstone', () => {
    const e = applyEdit(base, 'hi @bob', '2025-01-01T00:01:00.000Z', ['u2'])
    expect(e.text).toBe('hi @bob')
    expect(e.edited_at).toBe('2025-01-01T00:01:00.000Z')
    expect(e.mentions).toEqual(['u2'])
    const d = applyDelete(e, '2025-01-01T00:02:00.000Z')
    expect(d.text).toBe('')
    expect(d.reactions).toEqual([])
    expect(applyEdit(d, 'again', 'x', [])).toBe(d)
    expect(applyDelete(d, 'y')).toBe(d)
  })

  it('counts reactions; our own are idempotent (optimistic + frame)', () => {
    let m = applyReaction(base, '👍', 1, false)
    expect(m.reactions).toEqual([{ emoji: '👍', count: 1, me: false }])
    m = applyReaction(m, '👍', 1, true)
    const again = applyReaction(m, '👍', 1, true)
    expect(again).toBe(m)
    expect(m.reactions).toEqual([{ emoji: '👍', count: 2, me: true }])
    m = applyReaction(m, '👍', -1, true)
    expect(applyReaction(m, '👍', -1, true)).toBe(m)
    expect(m.reactions).toEqual([{ emoji: '👍', count: 1, me: false }])
    m = applyReaction(m, '👍', -1, false)
    expect(m.reactions).toEqual([])
    expect(applyReaction(m, '🎉', -1, false)).toBe(m)
  })
})

describe('text helpers', () => {
  it('turns search markers into parts, keeping markup inert', () => {
    expect(highlightParts('a \u0002run\u0003 <b>x</b> \u0002ran\u0003')).toEqual([
      { text: 'a ' }, { text: 'run', mark: true }, { text: ' <b>x</b> ' }, { text: 'ran', mark: true },
    ])
    expect(highlightParts('')).toEqual([])
  })

  it('finds @mentions but not e-mail addresses', () => {
    expect(mentionParts('hi @bob_1, mail a@b.com')).toEqual([
      { text: 'hi ' }, { text: '@bob_1', mention: 'bob_1' }, { text: ', mail a@b.com' },
    ])
    expect(mentionParts('@alice.')).toEqual([{ text: '@alice.', mention: 'alice' }])
  })

  it('knows the @word at the caret', () => {
    expect(mentionQuery('hey @Al', 7)).toEqual({ start: 4, query: 'al' })
    expect(mentionQuery('hey @', 5)).toEqual({ start: 4, query: '' })
    expect(mentionQuery('a@b', 3)).toBeNull()
  })
})
