// Messaging features between two live contexts: typing and read receipts,
// edit / delete / react / reply, an image attachment, search that jumps into
// context, group management with invite links, session revocation. The
// README screenshots are retaken at the end, showing the richer UI.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import {
  DESKTOP, PHONE, expectCount, launch, messages, newUserContext, send, shot, signIn, signUp,
  type Browser, type BrowserContext, type Page,
} from './browser.ts'
import { REPO } from './stack.ts'

const run = Date.now().toString(36)
const carol = { username: `carol_${run}`, name: 'Carol Danvers' }
const dave = { username: `dave_${run}`, name: 'Dave Grohl' }
const erin = { username: `erin_${run}`, name: 'Erin Brockovich' }

let browser: Browser
let c: { ctx: BrowserContext; page: Page }
let d: { ctx: BrowserContext; page: Page }
let chatPath = ''

function msg(page: Page, text: string) {
  return messages(page, text)
}
async function act(page: Page, text: string, action: string) {
  const m = msg(page, text)
  await m.hover()
  await m.getByTestId(action).click()
}

before(async () => {
  browser = await launch()
  c = await newUserContext(browser)
  d = await newUserContext(browser)
  for (const p of [c.page, d.page]) p.on('dialog', (x) => void x.accept())
})
after(async () => {
  await browser?.close()
})

describe('parley web: message features', { concurrency: false }, () => {
  test('two people open a direct chat', async () => {
    await Promise.all([signUp(c.page, carol.username, carol.name), signUp(d.page, dave.username, dave.name)])
    await c.page.getByTestId('new-chat').click()
    await c.page.getByTestId('user-search').fill(dave.username)
    await c.page.getByTestId(`user-${dave.username}`).click()
    await c.page.waitForURL(/\/c\/[0-9a-f-]{36}$/)
    chatPath = new URL(c.page.url()).pathname
    await send(c.page, 'Hi Dave, ready for the demo?')
    await d.page.getByTestId('conversation').filter({ hasText: carol.name }).click()
    await expectCount(msg(d.page, 'Hi Dave, ready for the demo?'), 1)
  })

  test('one sees the other typing and reading', async () => {
    await d.page.getByTestId('composer').pressSequentially('I am typ', { delay: 30 })
    await c.page.getByTestId('typing').waitFor()
    await d.page.getByTestId('composer').fill('')
    // The indicator times out by itself.
    await c.page.getByTestId('typing').waitFor({ state: 'detached', timeout: 12_000 })

    await send(c.page, 'Please read this')
    await expectCount(msg(d.page, 'Please read this'), 1)
    await msg(c.page, 'Please read this').getByTestId('seen-by').filter({ hasText: dave.name }).waitFor()
  })

  test('edit (Up arrow), react and reply appear on the other side', async () => {
    const box = c.page.getByTestId('composer')
    await box.click()
    await box.press('ArrowUp')
    await c.page.getByTestId('composer-context').waitFor()
    await box.fill('Please read this, edited')
    await box.press('Enter')
    await expectCount(msg(d.page, 'Please read this, edited'), 1)
    await msg(d.page, 'Please read this, edited').getByTestId('edited').waitFor()

    await act(d.page, 'Please read this, edited', 'act-react')
    await d.page.getByTestId('emoji-picker').getByRole('button', { name: '👍' }).click()
    const r = msg(c.page, 'Please read this, edited').getByTestId('reaction')
    await r.filter({ hasText: '👍 1' }).waitFor()
    assert.equal(await r.getAttribute('aria-pressed'), 'false')
    assert.equal(await msg(d.page, 'Please read this, edited').getByTestId('reaction').getAttribute('aria-pressed'), 'true')
    // Carol adds hers by clicking the chip: 2, highlighted for her.
    await r.click()
    await msg(d.page, 'Please read this, edited').getByTestId('reaction').filter({ hasText: '👍 2' }).waitFor()

    await act(d.page, 'Hi Dave, ready for the demo?', 'act-reply')
    await send(d.page, 'Ready when you are')
    const reply = msg(c.page, 'Ready when you are')
    await reply.getByTestId('quote').filter({ hasText: 'Hi Dave, ready for the demo?' }).waitFor()
  })

  test('delete for everyone leaves a tombstone on both sides', async () => {
    await send(c.page, 'oops, wrong chat')
    await expectCount(msg(d.page, 'oops, wrong chat'), 1)
    await act(c.page, 'oops, wrong chat', 'act-delete')
    await expectCount(msg(d.page, 'oops, wrong chat'), 0)
    await expectCount(d.page.getByTestId('tombstone'), 1)
    await expectCount(c.page.getByTestId('tombstone'), 1)
  })

  test('an image attachment is sent and previewed on the other side', async () => {
    await c.page.getByTestId('file-input').setInputFiles(join(REPO, 'web/public/icons/icon-192.png'))
    await c.page.locator('[data-testid="upload"] img').waitFor()
    await c.page.getByTestId('composer').fill('the logo')
    // Send is enabled once the upload finished.
    await c.page.locator('[data-testid="send"]:not([disabled])').waitFor()
    await c.page.getByTestId('send').click()
    const img = msg(d.page, 'the logo').getByTestId('attachment-preview')
    await img.waitFor()
    const w = await img.evaluate(async (el: HTMLImageElement) => {
      await el.decode().catch(() => {})
      return el.naturalWidth
    })
    assert.equal(w, 192)
  })

  test('search finds a message and jumps to it', async () => {
    const session = await c.page.evaluate(() => JSON.parse(localStorage.getItem('parley.session')!))
    const id = chatPath.split('/').pop()!
    const post = (i: number, text: string) =>
      fetch(new URL(`/api/v1/conversations/${id}/messages`, c.page.url()), {
        method: 'POST',
        headers: { Authorization: `Bearer ${session.access_token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_msg_id: `s-${run}-${i}`, text }),
      })
    assert.equal((await post(0, 'the secret word is platypus')).status, 202)
    for (let i = 1; i <= 60; i++) assert.equal((await post(i, `filler ${i}`)).status, 202)
    // A fresh load holds only the newest page, so the target is not in the window.
    await d.page.goto(chatPath)
    await msg(d.page, 'filler 60').waitFor()
    await d.page.getByTestId('global-search').click()
    await d.page.getByTestId('search-input').fill('platypus')
    const res = d.page.getByTestId('search-result').first()
    await res.waitFor()
    assert.equal(await res.locator('mark').first().textContent(), 'platypus')
    await res.click()
    const target = msg(d.page, 'the secret word is platypus')
    await target.waitFor()
    await d.page.waitForFunction(() => {
      const el = document.querySelector('article.hl')
      if (!el) return false
      const r = el.getBoundingClientRect()
      return r.top >= 0 && r.bottom <= innerHeight
    })
  })

  test('group management: roles, invite link, remove, leave', async () => {
    await c.page.goto('/')
    await c.page.getByTestId('new-group').click()
    await c.page.getByTestId('group-title').fill('Band practice')
    await c.page.getByTestId('user-search').fill(dave.username)
    await c.page.getByTestId(`user-${dave.username}`).click()
    await c.page.getByTestId('create-group').click()
    await c.page.getByTestId('chat-title').filter({ hasText: 'Band practice' }).waitFor()
    await send(c.page, `Welcome @${dave.username}`)
    // Dave sees the group with a mention marker.
    const item = d.page.getByTestId('conversation').filter({ hasText: 'Band practice' })
    await d.page.goto('/')
    await item.getByTestId('mention-marker').waitFor()

    await c.page.getByTestId('chat-info').click()
    const daveRow = c.page.getByTestId('member').filter({ hasText: dave.name })
    await daveRow.getByTestId('member-role-select').selectOption('admin')
    await daveRow.getByTestId('member-role').filter({ hasText: 'admin' }).waitFor()
    await c.page.getByTestId('group-edit-description').fill('Tuesdays at 8')
    await c.page.getByTestId('group-save').click()
    await c.page.getByTestId('create-invite').click()
    const link = await c.page.getByTestId('invite-link').inputValue()
    assert.match(link, /\/invite\/[A-Za-z0-9_-]{22}$/)

    const e = await newUserContext(browser)
    try {
      await signUp(e.page, erin.username, erin.name)
      await e.page.goto(new URL(link).pathname)
      await e.page.getByTestId('chat-title').filter({ hasText: 'Band practice' }).waitFor()
      await c.page.getByTestId('member').filter({ hasText: erin.name }).waitFor()
      // Dave, now an admin, removes Erin; Erin's list drops the group.
      await item.click()
      await d.page.getByTestId('chat-info').click()
      await d.page.getByTestId('member').filter({ hasText: erin.name }).getByTestId('member-remove').click()
      await expectCount(c.page.getByTestId('member').filter({ hasText: erin.name }), 0)
      await expectCount(e.page.getByTestId('conversation').filter({ hasText: 'Band practice' }), 0)
    } finally {
      await e.ctx.close()
    }
    await d.page.getByTestId('leave-group').click()
    await expectCount(c.page.getByTestId('member').filter({ hasText: dave.name }), 0)
    await d.page.waitForURL((u) => u.pathname === '/')
    await c.page.keyboard.press('Escape')
  })

  test('revoking a session from one context signs the other out', async () => {
    const other = await newUserContext(browser)
    try {
      await signIn(other.page, carol.username)
      await c.page.goto('/')
      await c.page.getByTestId('menu').click()
      await c.page.getByTestId('open-settings').click()
      const sessions = c.page.getByTestId('session')
      await expectCount(sessions, 2)
      await sessions.getByTestId('revoke').click()
      await other.page.waitForURL((u) => u.pathname === '/login', { timeout: 10_000 })
      await expectCount(sessions, 1)
      await c.page.keyboard.press('Escape')
    } finally {
      await other.ctx.close()
    }
  })

  test('screenshots: desktop and phone, light and dark', async () => {
    // Something worth showing at the bottom: an image, a reply, reactions, a mention.
    await c.page.goto(chatPath)
    await d.page.goto(chatPath)
    await msg(c.page, 'filler 60').waitFor()
    await send(c.page, 'Setlist for Friday is ready 🎸')
    await c.page.getByTestId('file-input').setInputFiles(join(REPO, 'web/public/icons/icon-512.png'))
    await c.page.locator('[data-testid="upload"] img').waitFor()
    await c.page.getByTestId('composer').fill('New logo for the poster')
    await c.page.locator('[data-testid="send"]:not([disabled])').waitFor()
    await c.page.getByTestId('send').click()
    await msg(d.page, 'New logo for the poster').getByTestId('attachment-preview').waitFor()
    await act(d.page, 'Setlist for Friday is ready 🎸', 'act-reply')
    await send(d.page, `Love it @${carol.username}, see you there`)
    await act(d.page, 'New logo for the poster', 'act-react')
    await d.page.getByTestId('emoji-picker').getByRole('button', { name: '🔥' }).click()
    await msg(c.page, 'New logo for the poster').getByTestId('reaction').waitFor()
    await act(c.page, `Love it @${carol.username}, see you there`, 'act-react')
    await c.page.getByTestId('emoji-picker').getByRole('button', { name: '❤️' }).click()
    await c.page.mouse.move(5, 5)
    for (const scheme of ['light', 'dark'] as const) {
      await c.page.emulateMedia({ colorScheme: scheme })
      await c.page.waitForTimeout(300)
      await shot(c.page, `desktop-${scheme}.png`)
    }
    const p = await newUserContext(browser, PHONE)
    try {
      await signIn(p.page, dave.username)
      await p.page.getByTestId('conversation').first().waitFor()
      for (const scheme of ['light', 'dark'] as const) {
        await p.page.emulateMedia({ colorScheme: scheme })
        await p.page.waitForTimeout(200)
        await shot(p.page, `phone-${scheme}-list.png`)
      }
      await p.page.goto(chatPath)
      await msg(p.page, 'New logo for the poster').getByTestId('attachment-preview').waitFor()
      await p.page.getByTestId('composer').fill('Bring the spare strings')
      for (const scheme of ['light', 'dark'] as const) {
        await p.page.emulateMedia({ colorScheme: scheme })
        await p.page.waitForTimeout(300)
        await shot(p.page, `phone-${scheme}.png`)
      }
    } finally {
      await p.ctx.close()
    }
    void DESKTOP
  })
})
