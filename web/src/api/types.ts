// REST shapes come from the generated schema.d.ts (npm run gen:api), so a
// contract change in schemas/openapi.json breaks the type-check, not users.
import type { components } from './schema'

type S = components['schemas']
export type Uuid = S['Uuid']
export type Position = S['Position']
export type User = S['User']
export type UserSummary = S['UserSummary']
export type TokenPair = S['TokenPair']
export type Member = S['Member']
export type Role = Member['role']
export type Message = S['Message']
export type Reaction = NonNullable<Message['reactions']>[number]
export type Attachment = S['Attachment']
export type Conversation = S['Conversation']
export type MessagePage = S['MessagePage']
export type CreateConversationRequest = S['CreateConversationRequest']
export type SendMessageRequest = S['SendMessageRequest']
export type SendMessageAccepted = S['SendMessageAccepted']
export type SearchResult = S['SearchResult']
export type SearchPage = S['SearchPage']
export type Session = S['Session']
export type ProfilePatch = S['ProfilePatch']
export type Presence = S['Presence']
export type WriteAccepted = S['WriteAccepted']
export type Invite = S['Invite']
export type PublicConversation = S['PublicConversation']
export type UpdateConversationRequest = S['UpdateConversationRequest']
export type ErrorCode = S['Error']['error']['code']

// WebSocket frames (schemas/ws-frames.schema.json). The payloads reuse the
// REST shapes where the schemas agree; conversation.created has no
// last_activity_at/last_message.
export type WsConversation = Omit<Conversation, 'last_activity_at' | 'last_message' | 'members'> & {
  members: { user_id: Uuid; role: Role }[]
}
type Ev<T extends string, P> = { type: T; conversation_id: Uuid; position: Position; actor_id: Uuid; at: string } & P
export type ServerFrame =
  | { type: 'ready'; user_id: Uuid; session_id: Uuid }
  | { type: 'pong' }
  | { type: 'error'; error: { code: 'bad_request'; message: string } }
  | { type: 'message.created'; conversation_id: Uuid; position: Position; message: Omit<Message, 'conversation_id'> }
  | { type: 'conversation.created'; position: Position; conversation: WsConversation }
  | { type: 'presence.changed'; user_id: Uuid; status: 'online' | 'offline'; last_seen: string | null }
  | { type: 'typing'; conversation_id: Uuid; user_id: Uuid; at: string }
  | Ev<'read.updated', { user_id: Uuid; last_read_position: Position }>
  | { type: 'session.revoked'; session_id: Uuid }
  | { type: 'resume.done'; conversation_id: Uuid; position: Position }
  | {
      type: 'resume.gap'
      conversation_id: Uuid
      from: Position
      reason: 'retention' | 'too_far' | 'too_many' | 'partition' | 'unknown_position' | 'overflow' | 'slow' | 'busy' | 'unavailable' | 'shutdown'
    }
  | { type: 'reconnect'; after_ms: number }
  | Ev<'message.edited', { message_id: Uuid; text: string; edited_at: string; mentions: Uuid[] }>
  | Ev<'message.deleted', { message_id: Uuid; deleted_at: string }>
  | Ev<'reaction.added', { message_id: Uuid; emoji: string }>
  | Ev<'reaction.removed', { message_id: Uuid; emoji: string }>
  | Ev<'conversation.updated', { changes: Partial<Pick<Conversation, 'title' | 'description' | 'avatar_id' | 'public'>> }>
  | Ev<'conversation.deleted', object>
  | Ev<'member.added', { user_id: Uuid; role: 'member'; via: 'admin' | 'join' | 'invite'; conversation: { id: Uuid; kind: string; title: string | null } }>
  | Ev<'member.removed', { user_id: Uuid; reason: 'left' | 'removed' }>
  | Ev<'member.role_changed', { user_id: Uuid; role: Role; previous_owner_id?: Uuid }>

export type EventFrame = Extract<ServerFrame, { actor_id: Uuid }>
