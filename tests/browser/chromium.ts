/**
 * Headless Chromium for the tests that run the library in a browser (Debian's
 * `chromium`, or CHROMIUM_PATH, driven by playwright-core): where it is, the
 * flags that give it WebGPU on SwiftShader, the skip-or-fail rule when it is
 * missing, and the page plumbing those tests share (console lines, the
 * `window.result` a page leaves).
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

/** The Chromium executable the browser tests drive. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium's flags for WebGPU on SwiftShader (a software Vulkan device), headless. */
export const WEBGPU_FLAGS: readonly string[] = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--headless',
  '--no-sandbox',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
];

/** Headless without WebGPU flags. */
export const PLAIN_FLAGS: readonly string[] = ['--headless', '--no-sandbox'];

/**
 * Whether Chromium is there for the test named `name`; without it, a loud warning that the test is skipped, or
 * under CI=true an error (a CI machine must run the browser tests).
 */
export function haveChromium(name: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const msg = `${name}: no Chromium at ${CHROMIUM} (run as root: bash scripts/setup-software-gpu.sh, or set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n!!!!!! ${msg} — SKIPPED\n`);
  return false;
}

/** A headless Chromium with `flags` (WebGPU on SwiftShader by default). */
export async function launchChromium(flags: readonly string[] = WEBGPU_FLAGS): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: [...flags], headless: true });
}

/** The console lines and uncaught errors (`pageerror: …`) of `page` from now on, collected as they come. */
export function collectLogs(page: Page): string[] {
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  return logs;
}

/** Wait (up to `timeoutMs`) for the page's script to set `window.result`; that value. */
export async function pageResult<T>(page: Page, timeoutMs = 90_000): Promise<T> {
  await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: timeoutMs });
  return (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as T;
}
