// The web UI's cost in a real browser (Debian's Chromium via playwright-core
// from tests/interop): for one `zkarrow serve --http` URL, RUNS fresh page
// loads, each measuring
//   - first paint of the tree: navigation start to the tree drawn (the
//     /znodes table fetched (the columns the tree needs), decoded by
//     flechette, indexed, the first rows rendered), from the page's own
//     performance.now();
//   - the page's memory once the tree is shown (JS heap plus ArrayBuffer
//     backing stores, after a garbage collection);
//   - a path-glob filter matching every znode (the whole tree opened, every
//     node a row), then a jump to the middle of that list, each to the next
//     frame drawn;
// and, in the same run, the peer every page load contains: fetching the same
// table (the page's own request) with Node's fetch and decoding it with flechette (no browser, no
// tree). Prints one JSON object.
//
// usage: node bench/webui_bench.mjs URL RUNS
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/interop/package.json'));
const { chromium } = require('playwright-core');
const { tableFromIPC } = require('@uwdata/flechette');

const [url, runsText] = process.argv.slice(2);
const runs = Number(runsText || 3);
const best = (xs) => Math.min(...xs);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
                                        args: ['--no-sandbox', '--enable-precise-memory-info'] });
const firstPaint = [], heap = [], scroll = [], filter = [], phases = [];
let treeTarget = null;  // the page's /znodes request
try {
  for (let i = 0; i < runs; ++i) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.on('request', (request) => {
      const target = new URL(request.url());
      if (target.pathname === '/znodes') treeTarget = target.pathname + target.search;
    });
    await page.goto(url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 120000 });
    firstPaint.push(Number(await page.evaluate(() => document.body.dataset.readyAt)));
    phases.push(JSON.parse(await page.evaluate(() => document.body.dataset.phases)));
    const cdp = await context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    // The JS heap and the ArrayBuffers' backing stores (the tree's typed
    // arrays live there, outside the JS heap).
    const usage = await cdp.send('Runtime.getHeapUsage');
    heap.push((usage.usedSize + (usage.backingStorageSize || 0)) / (1 << 20));
    // Every znode shown: the glob ** matches all, so the whole tree is open.
    filter.push(await page.evaluate(async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
      const input = document.getElementById('filter');
      input.value = '**';
      const started = performance.now();
      input.dispatchEvent(new Event('input'));
      // The page waits 200 ms for typing to pause; that wait is not its work.
      while (!/match/.test(document.getElementById('filter-info').textContent)) await frame();
      await frame();
      return performance.now() - started - 200;
    }));
    // Then a jump to the middle of that list, drawn.
    scroll.push(await page.evaluate(async () => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
      const scroller = document.getElementById('tree-scroll');
      const started = performance.now();
      scroller.scrollTop = scroller.scrollHeight / 2;
      await frame(); await frame();
      return performance.now() - started;
    }));
    await context.close();
  }
} finally {
  await browser.close();
}

const fetchDecode = [];
let rows = 0;
let bytes = 0;
for (let i = 0; i < runs; ++i) {
  const started = performance.now();
  const body = new Uint8Array(await (await fetch(url + treeTarget)).arrayBuffer());
  const table = tableFromIPC(body, { useBigInt: true });
  table.getChild('path').toArray();
  fetchDecode.push(performance.now() - started);
  rows = table.numRows;
  bytes = body.byteLength;
}
const result = {
  znodes: rows, table: treeTarget, table_mb: +(bytes / (1 << 20)).toFixed(1), runs,
  first_paint_ms: Math.round(best(firstPaint)), first_paint_runs_ms: firstPaint.map(Math.round),
  // The best run's fetch, decode (flechette), index (the page's tree) and draw.
  first_paint_phases_ms: phases[firstPaint.indexOf(best(firstPaint))],
  // The first run's: serve encodes a state's response once, later runs of
  // the same state get it from its cache.
  first_run_phases_ms: phases[0],
  node_fetch_decode_ms: Math.round(best(fetchDecode)),
  first_paint_over_fetch_decode: +(best(firstPaint) / best(fetchDecode)).toFixed(2),
  page_memory_mb: +best(heap).toFixed(0),
  heap_bytes_per_znode: Math.round(best(heap) * (1 << 20) / rows),
  open_all_ms: Math.round(best(filter)),
  scroll_to_middle_ms: Math.round(best(scroll)),
};
console.log(JSON.stringify(result));
