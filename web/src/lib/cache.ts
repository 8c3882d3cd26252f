// The offline cache: one IndexedDB object store of JSON values, keyed per
// user so that signing in as someone else never shows the previous account's
// data. Failures (private mode, quota) degrade to "no cache", never to errors.
import { createStore, del, get, set, clear, type UseStore } from 'idb-keyval'

let store: UseStore | null = null
function db(): UseStore | null {
  if (typeof indexedDB === 'undefined') return null
  store ??= createStore('parley', 'cache')
  return store
}

export async function cacheGet<T>(key: string): Promise<T | undefined> {
  const s = db()
  if (!s) return undefined
  try {
    return await get<T>(key, s)
  } catch {
    return undefined
  }
}

export async function cacheSet(key: string, value: unknown): Promise<void> {
  const s = db()
  if (!s) return
  try {
    // Plain JSON: reactive proxies cannot be structured-cloned.
    await set(key, JSON.parse(JSON.stringify(value)), s)
  } catch {
    /* quota or private mode: the cache is an optimisation */
  }
}

export async function cacheDel(key: string): Promise<void> {
  const s = db()
  if (!s) return
  try {
    await del(key, s)
  } catch {
    /* ignore */
  }
}

export async function cacheClear(): Promise<void> {
  const s = db()
  if (!s) return
  try {
    await clear(s)
  } catch {
    /* ignore */
  }
}
