// Entry point of the browser tests: start the stack (unless PARLEY_E2E_URL
// points at a running one), run every *.test.ts with the Node test runner,
// stop the stack. Used by `make test-web` through `npm run e2e` in web/.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { REPO, startStack, type Stack } from './stack.ts'

const here = join(REPO, 'tests/e2e')
let stack: Stack | null = null
let url = process.env.PARLEY_E2E_URL
const t0 = Date.now()
if (!url) {
  stack = await startStack()
  url = stack.url
  console.log(`e2e: stack up at ${url} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}
const stopAndExit = async (code: number) => {
  await stack?.stop()
  process.exit(code)
}
process.once('SIGINT', () => void stopAndExit(130))
process.once('SIGTERM', () => void stopAndExit(143))

// PARLEY_E2E_ONLY=features runs only the files whose name contains it.
const only = process.env.PARLEY_E2E_ONLY
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts') && (!only || f.includes(only)))
  .map((f) => join(here, f))
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  env: { ...process.env, PARLEY_E2E_URL: url },
  cwd: here,
})
console.log(`e2e: finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
await stopAndExit(r.status ?? 1)
