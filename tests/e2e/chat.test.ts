// Two people chat live through the real stack, one of them goes offline and
// comes back, a reload keeps the session, a group is created, and the phone
// layout is used. Screenshots for the README are taken on the way.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BASE, DESKTOP, PHONE, expectCount, expectStableCount, launch, messages, newUserContext, send, shot, signIn, signUp,
  type Browser, type BrowserContext, type Page,
} from './browser.ts'

const run = Date.now().toString(36)
const alice = { username: `alice_${run}`, name: 'Alice Liddell' }
const bob = { username: `bob_${run}`, name: 'Bob Marley' }

let browser: Browser
let a: { ctx: BrowserContext; page: Page }
let b: { ctx: BrowserContext; page: Page }
let chatPath = ''

before(async () => {
  browser = await launch()
  a = await newUserContext(browser)
  b = await newUserContext(browser)
})
after(async () => {
  await browser?.close()
})

describe('parley web', { concurrency: false }, () => {
  test('sign up two people', async () => {
    const t0 = Date.now()
    await Promise.all([signUp(a.page, alice.username, alice.name), signUp(b.page, bob.username, bob.name)])
    console.log(`# sign-up of two users: ${Date.now() - t0} ms`)
  })

  test('start a direct chat via user search and chat live both ways', async () => {
    await a.page.getByTestId('new-chat').click()
    await a.page.getByTestId('user-search').fill(bob.username.slice(0, 8))
    await a.page.getByTestId(`user-${bob.username}`).click()
    await a.page.waitForURL(/\/c\/[0-9a-f-]{36}$/)
    chatPath = new URL(a.page.url()).pathname
    await assert.doesNotReject(a.page.getByTestId('chat-title').filter({ hasText: bob.name }).waitFor())

    await send(a.page, 'Hello Bob!')
    await expectCount(messages(a.page, 'Hello Bob!').and(a.page.locator('[data-state="delivered"]')), 1)

    // Bob's list shows the new conversation live, with the last message.
    const item = b.page.getByTestId('conversation').filter({ hasText: alice.name })
    await item.waitFor()
    await item.getByText('Hello Bob!').waitFor()
    await item.click()
    await expectCount(messages(b.page, 'Hello Bob!'), 1)

    // Shift+Enter is a newline, Enter sends.
    const box = b.page.getByTestId('composer')
    await box.fill('Hi Alice')
    await box.press('Shift+Enter')
    await box.type('second line')
    await box.press('Enter')
    await expectCount(messages(a.page, 'Hi Alice\nsecond line'), 1)
    await expectStableCount(messages(b.page, 'Hi Alice\nsecond line'), 1, 800)
  })

  test('a reload keeps the session and the history', async () => {
    await a.page.reload()
    await a.page.getByTestId('chat-title').filter({ hasText: bob.name }).waitFor()
    await expectCount(messages(a.page, 'Hello Bob!'), 1)
    await expectCount(messages(a.page, 'Hi Alice\nsecond line'), 1)
    assert.equal(new URL(a.page.url()).pathname, chatPath)
  })

  test('offline sends are queued and delivered exactly once', async () => {
    await b.ctx.setOffline(true)
    await b.page.getByTestId('status').waitFor()
    await send(b.page, 'sent while offline 1')
    await send(b.page, 'sent while offline 2')
    await expectCount(messages(b.page, 'sent while offline 1').and(b.page.locator('[data-state="pending"]')), 1)
    await expectCount(messages(b.page, 'sent while offline 2').and(b.page.locator('[data-state="pending"]')), 1)
    await expectStableCount(messages(a.page, 'sent while offline 1'), 0, 1000)

    await b.ctx.setOffline(false)
    for (const text of ['sent while offline 1', 'sent while offline 2']) {
      await expectCount(messages(b.page, text).and(b.page.locator('[data-state="delivered"]')), 1, 20_000)
      await expectCount(messages(a.page, text), 1, 20_000)
    }
    // ...and no copy turns up later (a late frame, a resync after reconnect).
    await expectStableCount(messages(b.page, 'sent while offline 1'), 1)
    await expectStableCount(messages(a.page, 'sent while offline 2'), 1)
    const order = await a.page.getByTestId('message-text').allTextContents()
    assert.ok(order.indexOf('sent while offline 1') < order.indexOf('sent while offline 2'))
  })

  test('create a group; the member sees it and its messages live', async () => {
    await a.page.getByTestId('new-group').click()
    await a.page.getByTestId('group-title').fill('Tea party')
    await a.page.getByTestId('user-search').fill(bob.username)
    await a.page.getByTestId(`user-${bob.username}`).click()
    await a.page.getByTestId('create-group').click()
    await a.page.getByTestId('chat-title').filter({ hasText: 'Tea party' }).waitFor()
    await send(a.page, 'Welcome to the group')

    const item = b.page.getByTestId('conversation').filter({ hasText: 'Tea party' })
    await item.getByText('Welcome to the group').waitFor()
    await item.click()
    await expectCount(messages(b.page, 'Welcome to the group'), 1)
    await send(b.page, 'Thanks!')
    await expectCount(messages(a.page, 'Thanks!'), 1)
    // The list is sorted by latest activity: the group is on top for both.
    const firstA = a.page.getByTestId('conversation-title').first()
    assert.equal(await firstA.textContent(), 'Tea party')
  })

  test('phone layout: list and conversation are separate views', async () => {
    const p = await newUserContext(browser, PHONE)
    try {
      await signIn(p.page, bob.username)
      await p.page.getByTestId('conversation').first().waitFor()
      assert.equal(await p.page.getByTestId('composer').count(), 0)
      await p.page.emulateMedia({ colorScheme: 'light' })
      await shot(p.page, 'phone-light-list.png')
      await p.page.getByTestId('conversation').filter({ hasText: alice.name }).click()
      await messages(p.page, 'sent while offline 2').waitFor()
      assert.equal(await p.page.getByTestId('conversation').first().isVisible(), false)
      assert.equal(await p.page.getByTestId('composer').isVisible(), true)
      await shot(p.page, 'phone-light.png')
      await p.page.emulateMedia({ colorScheme: 'dark' })
      await shot(p.page, 'phone-dark.png')
      await p.page.getByTestId('back').click()
      await p.page.getByTestId('conversation').first().waitFor()
      assert.equal(await p.page.getByTestId('composer').count(), 0)
      await shot(p.page, 'phone-dark-list.png')
    } finally {
      await p.ctx.close()
    }
  })

  test('desktop screenshots, light and dark', async () => {
    await b.page.goto(chatPath)
    await messages(b.page, 'sent while offline 2').waitFor()
    await b.page.emulateMedia({ colorScheme: 'light' })
    await b.page.waitForTimeout(200)
    await shot(b.page, 'desktop-light.png')
    await b.page.emulateMedia({ colorScheme: 'dark' })
    await b.page.waitForTimeout(200)
    await shot(b.page, 'desktop-dark.png')
  })

  test('readable offline: a reload without network shows the cached list and history', async () => {
    // The service worker has precached the shell by now; IndexedDB holds the data.
    await b.page.evaluate(async () => {
      await navigator.serviceWorker.ready
      for (let i = 0; i < 50 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 100))
    })
    await b.page.waitForTimeout(500) // debounced cache writes
    await b.ctx.setOffline(true)
    try {
      await b.page.reload()
      await b.page.getByTestId('conversation').filter({ hasText: 'Tea party' }).waitFor()
      await expectCount(messages(b.page, 'sent while offline 2'), 1)
      await b.page.getByTestId('status').waitFor()
    } finally {
      await b.ctx.setOffline(false)
    }
    await b.page.getByTestId('status').waitFor({ state: 'detached' })
  })

  test('cold load: the conversation list is usable quickly', async () => {
    // A fresh context: no HTTP cache, no service worker, only the session.
    const state = await b.ctx.storageState()
    const ctx = await browser.newContext({ ...DESKTOP, baseURL: BASE, storageState: state })
    try {
      const page = await ctx.newPage()
      const t0 = Date.now()
      await page.goto('/')
      await page.getByTestId('conversation').first().waitFor()
      const ms = Date.now() - t0
      const nav = await page.evaluate(() => JSON.stringify(performance.getEntriesByType('navigation')[0]?.toJSON()))
      const js = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((e) => e.name.endsWith('.js'))
          .reduce((n, e) => n + (e as PerformanceResourceTiming).transferSize, 0),
      )
      console.log(`# cold load to a usable conversation list: ${ms} ms (JS transferred ${js} bytes)`)
      assert.ok(nav)
      assert.ok(ms < 3000, `cold load took ${ms} ms`)
    } finally {
      await ctx.close()
    }
  })

  test('history scrolls back through older pages', async () => {
    // 70 messages through the API: more than one page (50).
    const session = await a.page.evaluate(() => JSON.parse(localStorage.getItem('parley.session')!))
    const id = chatPath.split('/').pop()!
    for (let i = 1; i <= 70; i++) {
      const r = await fetch(new URL(`/api/v1/conversations/${id}/messages`, a.page.url()), {
        method: 'POST',
        headers: { Authorization: `Bearer ${session.access_token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_msg_id: `bulk-${run}-${i}`, text: `bulk ${i}` }),
      })
      assert.equal(r.status, 202)
    }
    await a.page.goto(chatPath)
    await messages(a.page, 'bulk 70').waitFor()
    const log = a.page.getByRole('log')
    for (let i = 0; i < 40 && (await messages(a.page, 'Hello Bob!').count()) === 0; i++) {
      await log.evaluate((el) => el.scrollBy(0, -2000))
      await a.page.waitForTimeout(150)
    }
    await expectCount(messages(a.page, 'Hello Bob!'), 1)
    await a.page.getByText('This is the beginning of the conversation.').waitFor()
  })

  test('sign out returns to the sign-in screen and stays signed out', async () => {
    await a.page.getByTestId('menu').click()
    await a.page.getByTestId('sign-out').click()
    await a.page.waitForURL((u) => u.pathname === '/login')
    await a.page.reload()
    await a.page.waitForURL((u) => u.pathname === '/login')
  })
})

