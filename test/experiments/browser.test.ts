/**
 * Opens report.html in a real headless Chromium and checks that what a
 * reader sees is there: the verdict first, Table 2 and Table 3 with their
 * rows, bold best figures, 95 % intervals and a dot per seed, a
 * simulator-vs-world scatter per metric, the learning curves as small
 * multiples with bands; and that nothing is clipped at 1280, 1400 and
 * 1920 px (no table wider than its box, no chart past the window's edge,
 * every settings value on screen). Saves a screenshot to test-output/. Skipped, with the reason printed, only when
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
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

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
    page.on('request', (r) => {
      if (!r.url().startsWith('file://')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });

    assert.match(await page.title(), /rliv experiment report/);
    const t2Rows = await page.$$eval('table[data-table="table2"] tbody tr', (rows) => rows.map((r) => (r.querySelector('td')?.textContent ?? '').trim()));
    assert.deepEqual(t2Rows, ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR', 'RLIV-UA']);
    const t3Rows = await page.$$eval('table[data-table="table3"] tbody tr', (rows) => rows.length);
    assert.equal(t3Rows, 5);
    const bold = await page.$$eval('table[data-table="table2"] td.best', (cells) => cells.length);
    assert.ok(bold >= 5, `expected a bold best cell per metric column, found ${bold}`);
    for (const id of ['significance', 'sim-to-real', 'calibration']) {
      assert.equal(await page.locator(`table[data-table="${id}"]`).count(), 1, `table ${id}`);
    }
    // The verdict opens the page, within the first screen: the gates, then RLIV-UA's standing per metric.
    const verdict = await page.$eval('#verdict', (v) => ({
      top: v.getBoundingClientRect().top,
      items: [...v.querySelectorAll('ul.verdict li')].map((li) => li.textContent ?? ''),
      rows: v.querySelectorAll('table[data-table="verdict-standing"] tbody tr').length,
    }));
    assert.ok(verdict.top < 900, `verdict starts at ${verdict.top} px`);
    assert.match(
      verdict.items[0]!,
      source === 'fixture' ? /^No fidelity gates in these results\.$/ : /^Fidelity gates: G1 (PASS|FAIL), G2 (PASS|FAIL), G3 (PASS|FAIL)/,
    );
    assert.match(verdict.items.join('\n'), /RLIV-UA ranks Session Length \d+(st|nd|rd|th)/);
    assert.equal(verdict.rows, 5, 'a standing row per metric');
    const firstSection = await page.$eval('body > section', (s) => s.id);
    assert.equal(firstSection, 'verdict');
    // Tables 2 and 3: every metric cell has its 95 % interval and a strip with a dot per seed.
    for (const id of ['table2', 'table3', 'table2-world', 'table3-world']) {
      const cells = await page.$$eval(`table[data-table="${id}"] tbody td:not(:first-child)`, (tds) =>
        tds.map((td) => ({
          sub: td.querySelector('.sub')?.textContent ?? '',
          dots: td.querySelectorAll('svg.strip circle.seed').length,
          w: td.querySelector('svg.strip')?.getBoundingClientRect().width ?? 0,
        })),
      );
      assert.equal(cells.length, (id.startsWith('table2') ? 6 : 5) * 5, `${id}: metric cells`);
      for (const c of cells) {
        assert.match(c.sub, /^95 % CI \[-?[\d.]+, -?[\d.]+\]$/, `${id}: interval under the figure`);
        assert.equal(c.dots, source === 'fixture' ? 3 : 2, `${id}: a dot per seed`);
        assert.ok(c.w > 50, `${id}: the strip is laid out`);
      }
    }
    // One simulator-vs-world scatter per metric with a point per model; small multiples of the curves.
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((s) => ({
        id: s.getAttribute('data-chart'),
        lines: s.querySelectorAll('.line').length,
        context: s.querySelectorAll('.context').length,
        bands: s.querySelectorAll('.band').length,
        points: s.querySelectorAll('.point').length,
        width: s.getBoundingClientRect().width,
      })),
    );
    const scatters = charts.filter((c) => c.id?.startsWith('scatter-'));
    assert.deepEqual(
      scatters.map((c) => c.id),
      ['scatter-sessionLength', 'scatter-watchTime', 'scatter-ctr', 'scatter-diversity', 'scatter-newFans'],
    );
    assert.ok(
      scatters.every((c) => c.points === 10),
      'a point per model in every scatter',
    );
    const panels = charts.filter((c) => /^curve-sessionLength-\d+$/.test(c.id ?? ''));
    assert.equal(panels.length, 10, 'a session-length panel per model');
    assert.ok(
      panels.every((c) => c.lines === 1 && c.context === 9 && c.bands >= 1),
      'each panel: its model with a band, the nine others behind it',
    );
    assert.ok(
      charts.every((c) => c.width > 100),
      'charts are laid out with a real size',
    );
    assert.ok(
      charts.some((c) => c.id?.startsWith('fig5-')),
      'Fig. 5 charts',
    );
    const findings = await page.locator('#findings li').count();
    assert.ok(findings >= 3);
    assert.deepEqual(requests, [], 'no network requests');

    // Nothing clipped at common widths: no table wider than its box (no hidden columns), the settings values on screen.
    for (const width of [1280, 1400, 1920]) {
      await page.setViewportSize({ width, height: 900 });
      const clipped = await page.$$eval('div.wide', (boxes) =>
        boxes
          .filter((b) => b.scrollWidth > b.clientWidth + 1)
          .map((b) => `${b.querySelector('table')?.getAttribute('data-table')}: ${b.scrollWidth} px in ${b.clientWidth} px`),
      );
      assert.deepEqual(clipped, [], `tables wider than the page at ${width} px`);
      // No chart or strip reaches past the right edge of the window (nothing hidden off-screen).
      const offscreen = await page.$$eval('svg', (svgs) =>
        svgs
          .filter((s) => s.getBoundingClientRect().right > (globalThis as unknown as { innerWidth: number }).innerWidth)
          .map((s) => s.getAttribute('data-chart') ?? s.getAttribute('class')),
      );
      assert.deepEqual(offscreen, [], `charts past the right edge at ${width} px`);
      const pageWidth = await page.evaluate(
        () => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth,
      );
      assert.ok(pageWidth <= width, `the page scrolls sideways at ${width} px (${pageWidth} px wide)`);
      const settings = await page.$$eval('table[data-table="settings"] tbody tr', (rows) =>
        rows.map((r) => {
          const cell = r.querySelectorAll('td')[1]!;
          const box = cell.getBoundingClientRect();
          return {
            key: r.querySelector('td')!.textContent,
            text: (cell.textContent ?? '').trim(),
            right: box.right,
            width: box.width,
            viewport: (globalThis as unknown as { innerWidth: number }).innerWidth,
          };
        }),
      );
      assert.ok(settings.length >= 5, 'settings rows');
      for (const s of settings) {
        assert.ok(s.text.length > 0, `setting ${s.key} has a value`);
        assert.ok(
          s.width > 20 && s.right <= s.viewport,
          `setting ${s.key}'s value is on screen at ${width} px (right edge ${s.right.toFixed(0)} of ${s.viewport})`,
        );
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
