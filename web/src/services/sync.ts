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

export const connection = ref<SocketState>('idle')
export const online = ref(typeof navigator === 'undefined' ? true : navigator.onLine)

let socket: ParleySocket | null = null

export function handleFrame(f: ServerFrame): void {
  const conversations = useConversationsStore()
  const timeline = useTimelineStore()
  if (f.type === 'message.created') {
    const m: Message = { ...f.message, conversation_id: f.conversation_id }
    timeline.applyLive(m)
    void conversations.applyMessage(m)
  } else if (f.type === 'conversation.created') {
    conversations.applyCreated(f.conversation)
  }
}

export async function onReady(): Promise<void> {
  const conversations = useConversationsStore()
  const timeline = useTimelineStore()
  const outbox = useOutboxStore()
  outbox.kick()
  await Promise.allSettled([conversations.refresh(), timeline.resyncAll()])
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
    onReady: () => void onReady(),
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
}

if (typeof window !== 'undefined') {
  window.addEventListener('online', () => {
    online.value = true
    useOutboxStore().kick()
  })
  window.addEventListener('offline', () => (online.value = false))
}
