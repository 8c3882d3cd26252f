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
export type Message = S['Message']
export type Conversation = S['Conversation']
export type MessagePage = S['MessagePage']
export type CreateConversationRequest = S['CreateConversationRequest']
export type SendMessageAccepted = S['SendMessageAccepted']
export type ErrorCode = S['Error']['error']['code']

// WebSocket frames (schemas/ws-frames.schema.json). The payloads reuse the
// REST shapes where the schemas agree; conversation.created has no
// last_activity_at/last_message.
export type WsConversation = Omit<Conversation, 'last_activity_at' | 'last_message' | 'members'> & {
  members: { user_id: Uuid; role: 'owner' | 'member' }[]
}
export type ServerFrame =
  | { type: 'ready'; user_id: Uuid; session_id: Uuid }
  | { type: 'pong' }
  | { type: 'error'; error: { code: 'bad_request'; message: string } }
  | { type: 'message.created'; conversation_id: Uuid; position: Position; message: Omit<Message, 'conversation_id'> }
  | { type: 'conversation.created'; position: Position; conversation: WsConversation }
