// Wires the socket to the stores: frames go into the conversation list and the
// open timelines, and every (re)connect catches up over REST and flushes the
// outbox. Started after sign-in, stopped on sign-out.
import { ref } from 'vue'
import { accessToken, refreshSession } from '@/api/client'
import { ParleySocket, defaultSocketUrl, type SocketState } from '@/api/socket'
import type { Message, ServerFrame } from '@/api/types'
import { useConversationsStore } from '@/stores/conversations'
import { useOutboxStore } from '@/stores/outbox'
import { useTimelineStore } from '@/stores/timeline'
import { useUsersStore } from '@/stores/users'
import { useAuthStore } from '@/stores/auth'
import { useLiveStore } from '@/stores/live'

export const connection = ref<SocketState>('idle')
export const online = ref(typeof navigator === 'undefined' ? true : navigator.onLine)

let socket: ParleySocket | null = null

/** The session of this tab's socket (from ready). */
export const sessionId = ref<string | null>(null)

export function handleFrame(f: ServerFrame): void {
  const conversations = useConversationsStore()
  const timeline = useTimelineStore()
  const live = useLiveStore()
  switch (f.type) {
    case 'ready':
      sessionId.value = f.session_id
      break
    case 'message.created': {
      const m: Message = { ...f.message, conversation_id: f.conversation_id }
      timeline.applyLive(m)
      live.stopTyping(f.conversation_id, m.sender_id)
      void conversations.applyMessage(m)
      break
    }
    case 'conversation.created':
      conversations.applyCreated(f.conversation)
      break
    case 'typing':
      if (f.user_id !== useAuthStore().user?.id) live.setTyping(f.conversation_id, f.user_id)
      break
    case 'presence.changed':
      live.presence.set(f.user_id, { status: f.status, last_seen: f.last_seen })
      break
    case 'resume.gap':
      // The server could not replay this conversation: the REST catch-up.
      void timeline.sync(f.conversation_id).catch(() => {})
      void conversations.refresh().catch(() => {})
      break
    case 'session.revoked':
      if (!sessionId.value || f.session_id === sessionId.value) void useAuthStore().forget()
      break
    case 'read.updated':
      live.setRead(f.conversation_id, f.user_id, f.last_read_position)
      conversations.applyEvent(f)
      break
    case 'message.edited':
    case 'message.deleted':
    case 'reaction.added':
    case 'reaction.removed':
      timeline.applyEvent(f)
      conversations.applyEvent(f)
      break
    case 'conversation.updated':
    case 'conversation.deleted':
    case 'member.added':
    case 'member.removed':
    case 'member.role_changed':
      conversations.applyEvent(f)
      break
  }
}

/** After every ready: the conversation list, and the REST catch-up for open
 * timelines the socket is not replaying (those get their frames, or a
 * resume.gap that triggers the same catch-up). */
export async function onReady(replaying: ReadonlySet<string> = new Set()): Promise<void> {
  const conversations = useConversationsStore()
  const timeline = useTimelineStore()
  const outbox = useOutboxStore()
  outbox.kick()
  await Promise.allSettled([conversations.refresh(), timeline.resyncAll(replaying)])
}

export async function startSync(userId: string): Promise<void> {
  const users = useUsersStore()
  const conversations = useConversationsStore()
  const timeline = useTimelineStore()
  const outbox = useOutboxStore()
  timeline.setUser(userId)
  await Promise.all([users.restore(userId), conversations.restore(userId), outbox.restore(userId)])
  if (socket) return
  socket = new ParleySocket({
    url: defaultSocketUrl(),
    token: accessToken,
    refresh: async (stale) => (await refreshSession(stale))?.access_token ?? null,
    onFrame: handleFrame,
    onReady: (_resumed, replaying) => void onReady(replaying),
    onState: (s) => {
      connection.value = s
      if (s === 'closed') timeline.markStale()
    },
  })
  socket.start()
  // The list before the socket is up: a cold start should not wait for it.
  void conversations.refresh().catch(() => {})
  void outbox.flush()
}

export function stopSync(): void {
  socket?.stop()
  socket = null
  connection.value = 'idle'
  useConversationsStore().reset()
  useTimelineStore().reset()
  useOutboxStore().reset()
  useUsersStore().reset()
  useLiveStore().reset()
  sessionId.value = null
}

if (typeof window !== 'undefined') {
  window.addEventListener('online', () => {
    online.value = true
    useOutboxStore().kick()
  })
  window.addEventListener('offline', () => (online.value = false))
}
