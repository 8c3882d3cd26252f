import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, ApiError, configureSession, sessionFromPair, type Session } from '@/api/client'
import { cacheClear } from '@/lib/cache'

const KEY = 'parley.session'

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY)
    return raw ? (JSON.parse(raw) as Session) : null
  } catch {
    return null
  }
}

/** The signed-in session. It lives in localStorage so a reload (or another
 * tab) keeps it; the API module reads and rotates it through configureSession. */
export const useAuthStore = defineStore('auth', () => {
  const session = ref<Session | null>(load())
  const user = computed(() => session.value?.user ?? null)
  const signedIn = computed(() => session.value !== null)
  const listeners: (() => void)[] = []

  function persist(s: Session | null) {
    session.value = s
    try {
      if (s) localStorage.setItem(KEY, JSON.stringify(s))
      else localStorage.removeItem(KEY)
    } catch {
      /* storage disabled: the session lasts as long as the page */
    }
  }

  configureSession(
    {
      // Read through localStorage so a rotation by another tab is seen.
      get: () => load() ?? session.value,
      set: persist,
    },
    () => signedOutElsewhere(),
  )

  if (typeof window !== 'undefined') {
    window.addEventListener('storage', (e) => {
      if (e.key !== KEY) return
      session.value = load()
      if (!session.value) signedOutElsewhere()
    })
  }

  function onSignedOut(fn: () => void) {
    listeners.push(fn)
  }

  function signedOutElsewhere() {
    session.value = null
    for (const fn of listeners) fn()
  }

  async function login(username: string, password: string) {
    const pair = await api.login(username, password)
    persist(sessionFromPair(pair))
  }

  async function register(username: string, password: string, displayName: string) {
    await api.register(username, password, displayName)
    await login(username, password)
  }

  async function logout() {
    try {
      await api.logout()
    } catch (e) {
      // Offline or already revoked: forget the session locally anyway.
      if (!(e instanceof ApiError) && !(e instanceof Error)) throw e
    }
    persist(null)
    await cacheClear()
    signedOutElsewhere()
  }

  /** The session was revoked elsewhere: forget it locally, no server call. */
  async function forget() {
    if (!session.value) return
    persist(null)
    await cacheClear()
    signedOutElsewhere()
  }

  /** Profile edits: keep the stored user current. */
  function setUser(u: Session['user']) {
    if (session.value) persist({ ...session.value, user: u })
  }

  return { session, user, signedIn, login, register, logout, forget, setUser, onSignedOut }
})
