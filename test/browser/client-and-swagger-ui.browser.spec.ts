import { build, stop as stopEsbuild } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { startChildBff, ChildBff } from '../support/child-bff';
import type { ScenarioInput, ScenarioResult } from './page/client-page';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it): playwright-core ships no browser. */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const DEV_KEY = 'local-development-key';
const PROJECT_ID = 'f96188c7ccaf4ffba0c9aa149ab2bd57';
const urn = (topic: string) => `urn:smn:cn-north-4:${PROJECT_ID}:${topic}`;
/** A browser, a built server and its embedded emulator per test: more than the other tiers' default. */
const TIMEOUT_MS = 60_000;

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}, TIMEOUT_MS);
afterAll(() => browser?.close());

/** The server as `npm start` runs it: the built main, no configuration but a throwaway data directory and a free port. */
const startBff = (env: Record<string, string> = {}) => startChildBff({ NODE_ENV: 'development', ...env });

async function stop(bff: ChildBff | undefined): Promise<void> {
  if (!bff || bff.process.exitCode !== null || bff.process.signalCode !== null) return;
  bff.process.kill('SIGTERM');
  await bff.exited;
}

/** Runs `work` in a fresh page; on failure a screenshot goes to test-artifacts/ (git-ignored) for the CI log. */
async function inPage(name: string, work: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    await work(page);
  } catch (error) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => undefined);
    throw error;
  } finally {
    await context.close();
  }
}

/**
 * The README's picture (`README_SCREENSHOT=docs/images/swagger-ui.png npm run test:browser`): an operation
 * from its summary down to the answer it got.
 */
async function screenshotUpTo(page: Page, from: Locator, to: Locator, path: string): Promise<void> {
  const [top, bottom] = [await from.boundingBox(), await to.boundingBox()];
  if (!top || !bottom) throw new Error('nothing to take a picture of');
  const scrollY = await page.evaluate(() => (globalThis as unknown as { scrollY: number }).scrollY);
  await page.screenshot({ path, fullPage: true, clip: { x: top.x, y: top.y + scrollY, width: top.width, height: bottom.y + bottom.height - top.y } });
}

describe('a browser frontend on another origin, through the generated client', () => {
  let pages: Server | undefined;
  let bff: ChildBff | undefined;
  afterEach(async () => {
    await stop(bff);
    await new Promise((resolve) => (pages ? pages.close(resolve) : resolve(undefined)));
  });

  it(
    'reads the ETag and X-Request-Id, writes with If-Match, and gets 412 for a stale tag and the envelope for a bad body',
    async () => {
      // The client (clients/typescript) and the page's scenario, bundled for the browser.
      const bundle = await build({
        entryPoints: [join(__dirname, 'page', 'client-page.ts')],
        bundle: true,
        format: 'iife',
        platform: 'browser',
        target: 'es2022',
        write: false,
      }).finally(() => stopEsbuild());
      const script = bundle.outputFiles[0].text;
      pages = createServer((req, res) => {
        if (req.url === '/client.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
        if (req.url === '/')
          return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>frontend</title><script src="/client.js"></script>');
        res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => pages!.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
      bff = await startBff({ CORS_ORIGINS: origin });
      expect(new URL(bff.url).origin).not.toBe(origin);

      await inPage('client-cross-origin', async (page) => {
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => typeof (globalThis as { smsCallbackScenario?: unknown }).smsCallbackScenario === 'function');
        const input: ScenarioInput = {
          bffUrl: bff!.url,
          apiKey: DEV_KEY,
          projectId: PROJECT_ID,
          callbacks: [
            { event_type: 'sms_reply_event', topic_urn: urn('test_reply') },
            { event_type: 'sms_fail_event', topic_urn: urn('test_fail') },
          ],
        };
        const result = await page.evaluate(
          (given) => (globalThis as unknown as { smsCallbackScenario(input: ScenarioInput): Promise<ScenarioResult> }).smsCallbackScenario(given),
          input,
        );

        expect(result.read).toEqual({ status: 200, etag: expect.stringMatching(/^"[^"]+"$/), requestId: expect.any(String), callbacks: expect.any(Number) });
        expect(result.write).toEqual({ status: 200, etag: expect.stringMatching(/^"[^"]+"$/), requestId: expect.any(String) });
        expect(result.write.etag).not.toBe(result.read.etag);
        expect(result.write.requestId).not.toBe(result.read.requestId);
        expect(result.stale).toEqual({ status: 412, code: 'BFF.PRECONDITION_FAILED' });
        expect(result.invalid).toEqual({ status: 400, code: 'BFF.VALIDATION_FAILED', fields: ['callback'] });
      });
    },
    TIMEOUT_MS,
  );
});

describe('Swagger UI under the zero-configuration start', () => {
  let bff: ChildBff | undefined;
  afterEach(() => stop(bff));

  it(
    'authorizes with the development key and runs GET and PUT with the prefilled examples: 200',
    async () => {
      bff = await startBff();
      await inPage('swagger-ui', async (page) => {
        await page.goto(`${bff!.url}/docs`);

        await page.locator('button.authorize').first().click();
        const apiKey = page.locator('.modal-ux .auth-container').filter({ hasText: 'api-key' });
        await apiKey.locator('input').fill(DEV_KEY);
        await apiKey.locator('button.authorize').click();
        await apiKey.locator('button', { hasText: 'Logout' }).waitFor();
        await apiKey.locator('button.btn-done').click();
        await page.locator('.modal-ux').waitFor({ state: 'detached' });

        for (const [operation, method] of [
          ['listSmsCallbacks', 'GET'],
          ['updateSmsCallbacks', 'PUT'],
        ] as const) {
          const block = page.locator(`#operations-SMS_callbacks-${operation}`);
          await block.locator('.opblock-summary').first().click();
          await block.locator('button.try-out__btn').click();
          const answered = page.waitForResponse((r) => r.request().method() === method && r.url().endsWith(`/v2/${PROJECT_ID}/notifications/sms/callback`));
          await block.locator('button.execute').click();
          expect((await answered).status()).toBe(200);
          await block.locator('.live-responses-table .response-col_status', { hasText: '200' }).waitFor();
          if (process.env.README_SCREENSHOT && method === 'PUT')
            await screenshotUpTo(page, block, block.locator('.live-responses-table'), process.env.README_SCREENSHOT);
        }
      });
    },
    TIMEOUT_MS,
  );
});
