// Starts the real local stack (infra/local/parley_stack.py run) on free ports
// with a throwaway data directory, and stops it again. The backend must be
// built already (make build).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, mkdirSync, chmodSync, rmSync, existsSync, createWriteStream } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const REPO = resolve(import.meta.dirname, '../..')

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a ? a.port : 0
      s.close(() => ok(port))
    })
  })
}

export interface Stack {
  url: string
  dir: string
  stop(): Promise<void>
}

const PORT_VARS = [
  'PARLEY_PUBLIC_PORT', 'PARLEY_PG_PORT', 'PARLEY_KAFKA_PORT', 'PARLEY_KAFKA_CONTROLLER_PORT', 'PARLEY_AUTH_PORT',
  'PARLEY_COMMAND_PORT', 'PARLEY_READ_PORT', 'PARLEY_PUSHER_PORT', 'PARLEY_PROJECTOR_PORT', 'PARLEY_MEDIA_PORT',
  'PARLEY_ARCHIVER_PORT', 'PARLEY_ADMIN_PORT',
]

export async function startStack(timeoutMs = 180_000): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-e2e-'))
  chmodSync(dir, 0o755) // postgres may run as another user and must traverse it
  mkdirSync(join(dir, 'data'), { mode: 0o755 })
  const env: Record<string, string> = { ...process.env, PARLEY_DATA_DIR: join(dir, 'data') } as Record<string, string>
  const used = new Set<number>()
  for (const v of PORT_VARS) {
    let p = await freePort()
    while (used.has(p)) p = await freePort()
    used.add(p)
    env[v] = String(p)
  }
  const url = `http://127.0.0.1:${env.PARLEY_PUBLIC_PORT}`
  const py = existsSync(join(REPO, '.parley/venv/bin/python')) ? join(REPO, '.parley/venv/bin/python') : 'python3'
  const child: ChildProcess = spawn(py, ['infra/local/parley_stack.py', 'run'], {
    cwd: REPO,
    env,
    detached: true, // its own process group, so a stuck shutdown can be ended as a whole
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log = createWriteStream(join(dir, 'stack.log'))
  child.stdout!.pipe(log)
  child.stderr!.pipe(log)
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()))

  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      process.kill(child.pid, 'SIGINT')
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          /* gone */
        }
      }, 40_000)
      await exited
      clearTimeout(t)
    }
    if (!process.env.PARLEY_E2E_KEEP) rmSync(dir, { recursive: true, force: true })
  }

  // Ready when nginx serves and the auth service answers through it.
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`stack exited early; see ${dir}/stack.log`)
    try {
      const r = await fetch(url + '/api/v1/auth/login', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } })
      const read = await fetch(url + '/api/v1/conversations')
      const pusher = await fetch(url + '/api/v1/ws')
      if (r.status === 400 && read.status === 401 && pusher.status !== 502 && pusher.status !== 503) break
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error('stack did not come up in time')
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  return { url, dir, stop }
}
