// Attachments need the bearer token, which <img src> cannot send: fetch the
// bytes once and hand out a blob: URL (cached per id for the page's life).
import { ref, watchEffect, type Ref } from 'vue'
import { ApiError, fetchAttachment } from '@/api/client'

/** A frame can deliver a message before the read side has linked its
 * attachment to the conversation (the download answers 404 for a moment):
 * retry a few times with a growing delay. */
async function fetchWithRetry(id: string): Promise<Blob> {
  for (let i = 0; ; i++) {
    try {
      return await fetchAttachment(id)
    } catch (e) {
      const retriable = !(e instanceof ApiError) || e.status === 404 || e.status === 403 || e.status >= 500
      if (!retriable || i >= 6) throw e
      await new Promise((r) => setTimeout(r, 250 * 2 ** i))
    }
  }
}

const urls = new Map<string, Promise<string>>()

export function attachmentUrl(id: string): Promise<string> {
  let p = urls.get(id)
  if (!p) {
    p = fetchWithRetry(id).then((b) => URL.createObjectURL(b))
    p.catch(() => urls.delete(id))
    urls.set(id, p)
  }
  return p
}

export function useAttachmentUrl(id: Ref<string | null | undefined>): Ref<string | null> {
  const url = ref<string | null>(null)
  watchEffect(() => {
    const v = id.value
    url.value = null
    if (!v) return
    attachmentUrl(v).then(
      (u) => {
        if (id.value === v) url.value = u
      },
      () => {},
    )
  })
  return url
}

export async function downloadAttachment(id: string, filename: string): Promise<void> {
  const a = document.createElement('a')
  a.href = await attachmentUrl(id)
  a.download = filename
  a.click()
}
