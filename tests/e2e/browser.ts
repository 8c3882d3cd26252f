// Debian's chromium driven by playwright-core (no browser download).
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from './stack.ts'

export const BASE = process.env.PARLEY_E2E_URL ?? 'http://127.0.0.1:8080'
export const SHOTS = join(REPO, 'docs/screenshots')

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
}

export const DESKTOP = { viewport: { width: 1280, height: 800 } }
export const PHONE = { viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }

export async function newUserContext(browser: Browser, opts: Parameters<Browser['newContext']>[0] = DESKTOP) {
  const ctx = await browser.newContext({ baseURL: BASE, locale: 'en-US', ...opts })
  ctx.setDefaultTimeout(15_000)
  const page = await ctx.newPage()
  page.on('pageerror', (e) => console.error('pageerror:', e.message))
  return { ctx, page }
}

/** Wait until the locator matches exactly n elements. */
export async function expectCount(l: Locator, n: number, timeout = 15_000): Promise<void> {
  const end = Date.now() + timeout
  let last = -1
  while (Date.now() < end) {
    last = await l.count()
    if (last === n) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`expected ${n} matches, saw ${last}`)
}

/** Holds for a while: used to prove something does NOT show up twice. */
export async function expectStableCount(l: Locator, n: number, ms = 1500): Promise<void> {
  await expectCount(l, n)
  const end = Date.now() + ms
  while (Date.now() < end) {
    const c = await l.count()
    if (c !== n) throw new Error(`expected ${n} matches to stay, saw ${c}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export function messages(page: Page, text: string): Locator {
  return page.locator('[data-testid="message"]').filter({ has: page.getByText(text, { exact: true }) })
}

export async function signUp(page: Page, username: string, name: string, password = 'correct horse battery') {
  await page.goto('/register')
  await page.fill('input[name="username"]', username)
  await page.fill('input[name="display_name"]', name)
  await page.fill('input[name="password"]', password)
  await page.click('button[type="submit"]')
  await page.waitForURL((u) => u.pathname === '/')
}

export async function signIn(page: Page, username: string, password = 'correct horse battery') {
  await page.goto('/login')
  await page.fill('input[name="username"]', username)
  await page.fill('input[name="password"]', password)
  await page.click('button[type="submit"]')
  await page.waitForURL((u) => u.pathname === '/')
}

export async function send(page: Page, text: string) {
  const box = page.getByTestId('composer')
  await box.fill(text)
  await box.press('Enter')
}

export async function shot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, name) })
}

export type { Browser, BrowserContext, Page }
