/**
 * Opens report.html in a real headless Chromium and checks that what a
 * reader sees is there: Table 2 and Table 3 with their rows, the bold best
 * figures, the learning-curve charts with lines and std bands. Saves a
 * screenshot to test-output/. Skipped, with the reason printed, only when
 * no Chromium is installed.
 *
 * The report comes from a smoke run of the experiment runner, or, with
 * RLIV_BROWSER_FIXTURE=1, from the fixture results (synthetic numbers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../helpers/paths.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { renderHtmlReport } from '../../src/experiments/report-html.js';
import { fixtureResults } from './fixtures/results-fixture.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** A report.html to open: from a smoke experiment, or from the fixture. */
async function reportPath(): Promise<{ path: string; source: string }> {
  const dir = tempDir('rliv-browser-');
  if (!process.env.RLIV_BROWSER_FIXTURE) {
    const { runExperiment } = await import('../../src/experiments/experiment.js');
    const { experimentPreset } = await import('../../src/experiments/experiment-presets.js');
    const out = await runExperiment({ preset: experimentPreset('smoke'), seeds: [1, 2], outDir: dir });
    return { path: out.files.html, source: 'smoke run' };
  }
  const path = join(dir, 'report.html');
  writeFileSync(path, renderHtmlReport(fixtureResults()));
  return { path, source: 'fixture' };
}

const skipReason = existsSync(CHROMIUM) ? undefined : `Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH or install the chromium package)`;
if (skipReason) process.stdout.write(`# browser test skipped: ${skipReason}\n`);

test('report.html renders in headless Chromium with its tables and charts', { skip: skipReason, timeout: 300_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const { path, source } = await reportPath();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Any request other than the file itself would mean the page is not self-contained.
    const requests: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('file://')) requests.push(r.url()); });
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });

    assert.match(await page.title(), /rliv experiment report/);
    const t2Rows = await page.$$eval('table[data-table="table2"] tbody tr', (rows) => rows.map((r) => (r.querySelector("td")?.textContent ?? "").trim()));
    assert.deepEqual(t2Rows, ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA']);
    const t3Rows = await page.$$eval('table[data-table="table3"] tbody tr', (rows) => rows.length);
    assert.equal(t3Rows, 5);
    const bold = await page.$$eval('table[data-table="table2"] td.best', (cells) => cells.length);
    assert.ok(bold >= 5, `expected a bold best cell per metric column, found ${bold}`);
    for (const id of ['significance', 'sim-to-real', 'calibration']) {
      assert.equal(await page.locator(`table[data-table="${id}"]`).count(), 1, `table ${id}`);
    }
    const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({
      id: s.getAttribute('data-chart'),
      lines: s.querySelectorAll('.line').length,
      bands: s.querySelectorAll('.band').length,
      width: s.getBoundingClientRect().width,
    })));
    const curve = charts.find((c) => c.id === 'curve-sessionLength');
    assert.ok(curve, 'session-length learning curve chart');
    assert.equal(curve!.lines, 10, 'one line per model');
    assert.ok(curve!.bands >= 1, 'std bands drawn');
    assert.ok(charts.every((c) => c.width > 100), 'charts are laid out with a real size');
    assert.ok(charts.some((c) => c.id?.startsWith('fig5-')), 'Fig. 5 charts');
    const findings = await page.locator('#findings li').count();
    assert.ok(findings >= 3);
    assert.deepEqual(requests, [], 'no network requests');

    // Nothing clipped at common widths: no table wider than its box (no hidden columns), the settings values on screen.
    for (const width of [1280, 1400, 1920]) {
      await page.setViewportSize({ width, height: 900 });
      const clipped = await page.$$eval('div.wide', (boxes) => boxes
        .filter((b) => b.scrollWidth > b.clientWidth + 1)
        .map((b) => `${b.querySelector('table')?.getAttribute('data-table')}: ${b.scrollWidth} px in ${b.clientWidth} px`));
      assert.deepEqual(clipped, [], `tables wider than the page at ${width} px`);
      const settings = await page.$$eval('table[data-table="settings"] tbody tr', (rows) => rows.map((r) => {
        const cell = r.querySelectorAll('td')[1]!;
        const box = cell.getBoundingClientRect();
        return { key: r.querySelector('td')!.textContent, text: (cell.textContent ?? '').trim(), right: box.right, width: box.width, viewport: (globalThis as unknown as { innerWidth: number }).innerWidth };
      }));
      assert.ok(settings.length >= 5, 'settings rows');
      for (const s of settings) {
        assert.ok(s.text.length > 0, `setting ${s.key} has a value`);
        assert.ok(s.width > 20 && s.right <= s.viewport, `setting ${s.key}'s value is on screen at ${width} px (right edge ${s.right.toFixed(0)} of ${s.viewport})`);
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });

    const outDir = resolve(REPO_ROOT, 'test-output');
    mkdirSync(outDir, { recursive: true });
    const shot = join(outDir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    process.stdout.write(`# report (${source}) screenshot: ${shot}\n`);
  } finally {
    await browser.close();
  }
});
