/** A client_msg_id: printable ASCII, at most 64 characters, unique per sender
 * and conversation. A random UUID is all three. */
export function newClientMsgId(): string {
  // randomUUID exists only in secure contexts; plain-http LAN installs lack it.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}
