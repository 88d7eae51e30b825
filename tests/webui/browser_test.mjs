// The web UI in a real browser: Debian's Chromium driven by playwright-core
// (tests/interop's node_modules), against real `zkarrow serve` processes on
// a real ZooKeeper holding the sample tree. Expected values come from a
// `zkarrow snapshot` of the tree read with flechette, and from kazoo.
//
// usage: node browser_test.mjs URL WRITE_URL TOKEN SNAPSHOT ARTIFACTS_DIR ZK_HOSTS
// URL serves read-only, WRITE_URL with --allow-writes, both with TOKEN.
// Screenshots go to ARTIFACTS_DIR. Exits non-zero on the first failed check.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../interop/package.json'));
const { chromium } = require('playwright-core');
const { tableFromIPC } = require('@uwdata/flechette');

const [url, writeUrl, token, snapshotFile, artifacts, zkHosts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error('check failed: ' + message);
}
function equal(actual, expected, what) {
  check(String(actual) === String(expected), `${what}: expected "${String(expected)}", found "${String(actual)}"`);
}
const log = (...a) => console.log('webui test:', ...a);

// --- expected values: the snapshot
const snapshot = tableFromIPC(readFileSync(snapshotFile), { useBigInt: true, useDate: false });
const rows = new Map();
const childrenOf = new Map();
{
  const names = snapshot.schema.fields.map((f) => f.name);
  const cols = Object.fromEntries(names.map((n) => [n, snapshot.getChild(n).toArray()]));
  for (let i = 0; i < snapshot.numRows; ++i) {
    const row = {};
    for (const n of names) row[n] = cols[n][i];
    rows.set(row.path, row);
    if (row.parent != null) {
      if (!childrenOf.has(row.parent)) childrenOf.set(row.parent, []);
      childrenOf.get(row.parent).push(row.name);
    }
  }
  for (const list of childrenOf.values()) list.sort();
}
log(`snapshot: ${rows.size} znodes`);

function kazoo(...args) {
  return execFileSync('/usr/bin/python3', [path.join(here, 'kazoo_write.py'), zkHosts, ...args], { encoding: 'utf8' }).trim();
}
// Waits until the server at `target` serves the tree as of `zxid` (a
// kazoo write's), so that its queries see the write.
async function synced(target, zxid) {
  const response = await fetch(target + '/actions/sync', { method: 'POST', body: zxid,
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' } });
  check(response.ok, `sync to zxid ${zxid}: ${response.status} ${await response.text()}`);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const problems = [];
// `lostConnections`: the test cuts the page's connections, whose failed
// loads the browser logs too.
async function openPage(target, lostConnections) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // The refusals the page and the test provoke (401 before the token, 403,
  // 409) are logged by the browser as
  // failed loads; anything else (a CSP violation, a script error) fails.
  page.on('console', (m) => {
    const expected = /^Failed to load resource: .* status of 40[139]/.test(m.text()) ||
      (lostConnections && /^Failed to load resource: net::ERR_/.test(m.text()));
    if (m.type() === 'error' && !expected) {
      problems.push(target + ': console: ' + m.text());
    }
  });
  page.on('pageerror', (e) => problems.push(target + ': page error: ' + e.message));
  await page.goto(target);
  // The token is asked for, never part of a URL.
  await page.waitForSelector('#login:not([hidden])', { timeout: 10000 });
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
  return page;
}
// A TCP relay to the server at `target`: cut() drops its connections and
// refuses new ones, as a server that restarts does; restore() ends that.
function relayTo(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let down = false;
  const server = net.createServer((client) => {
    if (down) { client.destroy(); return; }
    const upstream = net.connect(Number(port), hostname);
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.on('error', () => {});
      a.on('close', () => { sockets.delete(a); b.destroy(); });
      a.pipe(b);
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: 'http://127.0.0.1:' + server.address().port,
    cut() { down = true; for (const s of sockets) s.destroy(); },
    restore() { down = false; },
    close() { this.cut(); server.close(); },
  })));
}

const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name + '.png') });
// What copying the contents of `selector` (through the end of `last`'s,
// if given) puts on the clipboard: the page's copy handler gets a copy
// event with a DataTransfer of its own, as a user's Ctrl+C gives it.
const copiedText = (page, selector, last) => page.evaluate(([selector, last]) => {
  const range = document.createRange();
  range.selectNodeContents(document.querySelector(selector));
  if (last) {
    const end = document.querySelector(last);
    range.setEnd(end, end.childNodes.length);
  }
  const selection = document.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  const clipboard = new DataTransfer();
  const event = new ClipboardEvent('copy', { clipboardData: clipboard, cancelable: true });
  document.dispatchEvent(event);
  selection.removeAllRanges();
  return event.defaultPrevented ? clipboard.getData('text/plain') : range.toString();
}, [selector, last]);
const rowSelector = (p) => `#tree-scroll .row[data-path="${p}"]`;
const visibleChildren = (page, parent) => page.$$eval('#tree-scroll .row:not([hidden])', (els, parent) =>
  els.map((e) => e.dataset.path).filter((p) => p.startsWith(parent === '/' ? '/' : parent + '/') && p !== parent &&
    !p.slice(parent === '/' ? 1 : parent.length + 1).includes('/')), parent);

async function expand(page, p) {
  await page.click(rowSelector(p) + ' .toggle');
  await page.waitForFunction((p) => {
    const row = document.querySelector(`#tree-scroll .row[data-path="${p}"] .toggle`);
    return row && row.textContent === '▾';
  }, p);
}

try {
  // ---------------------------------------------------------- the tree
  const page = await openPage(url);
  const headers = await (await fetch(url + '/')).headers;
  check(/default-src 'none'/.test(headers.get('content-security-policy') || ''), 'the page has a Content-Security-Policy');
  const treeMs = await page.evaluate(() => Number(document.body.dataset.treeMs));
  log(`tree of ${rows.size} znodes loaded and drawn in ${treeMs} ms`);
  const count = await page.textContent('#znode-count');
  equal(count.replace(/[^0-9]/g, ''), rows.size, 'znode count in the header');
  check(await page.isVisible(rowSelector('/')), 'the root row is shown');
  // The root is open: its children, in name order, are the snapshot's.
  const rootKids = (await visibleChildren(page, '/')).map((p) => p.slice(1));
  equal(rootKids.join(','), childrenOf.get('/').join(','), 'children of / shown');
  // Per-subtree counts and sizes.
  const kafkaCount = await page.textContent(rowSelector('/kafka') + ' .num');
  const kafkaNodes = [...rows.keys()].filter((p) => p === '/kafka' || p.startsWith('/kafka/')).length;
  equal(kafkaCount.replace(/[^0-9]/g, ''), kafkaNodes, 'node count of /kafka');
  await shot(page, 'tree');

  // Expanding shows the children.
  for (const p of ['/kafka', '/kafka/brokers', '/kafka/brokers/ids']) await expand(page, p);
  const idKids = (await visibleChildren(page, '/kafka/brokers/ids')).map((p) => p.split('/').pop());
  equal(idKids.join(','), childrenOf.get('/kafka/brokers/ids').join(','), 'children of /kafka/brokers/ids shown');
  log(`expanded /kafka/brokers/ids: ${idKids.length} children`);

  // ---------------------------------------------------------- a node
  const selected = '/kafka/brokers/ids/' + idKids[0];
  await page.click(rowSelector(selected) + ' .name');
  await page.waitForFunction((p) => document.querySelector('#node-path').textContent === p &&
    document.querySelector('#stat tr[data-field=mzxid] .value'), selected);
  const expected = rows.get(selected);
  for (const field of ['czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion',
                       'ephemeral_owner', 'data_length', 'num_children']) {
    const shown = await page.textContent(`#stat tr[data-field=${field}] .value`);
    equal(shown, expected[field], `${selected} ${field}`);
  }
  // The ACL, read from ZooKeeper: the sample tree's nodes are open.
  await page.waitForFunction(() => [...document.querySelectorAll('#acl tr')].some((tr) =>
    [...tr.children].map((td) => td.textContent).join(' ') === 'world anyone rwcda (31)'), null, { timeout: 5000 })
    .catch(async () => { throw new Error('ACL shown: ' + await page.textContent('#acl')); });
  const dataText = new TextDecoder().decode(expected.data);
  equal(await page.textContent('#node-data'), dataText, `${selected} data as text`);
  await page.click('.views button[data-view=json]');
  equal(await page.textContent('#node-data'), JSON.stringify(JSON.parse(dataText), null, 2), `${selected} data as JSON`);
  await page.click('.views button[data-view=hex]');
  check((await page.textContent('#node-data')).startsWith('00000000  ' + expected.data[0].toString(16).padStart(2, '0')), 'hex view');
  await page.click('.views button[data-view=text]');
  check(await page.isHidden('#node-actions'), 'no edit buttons on a read-only server');
  await shot(page, 'node');
  log(`${selected}: data and stat equal the snapshot's`);

  // ---------------------------------------------------------- live
  // Each change must show; the bound (within a second) must hold for
  // the best of three, so that one load spike of the shared CI machine
  // does not decide it.
  let newText = '';
  const setMs = [];
  for (let round = 0; round < 3; ++round) {
    newText = '{"changed_by":"kazoo","round":' + round + '}';
    kazoo('set', selected, newText);
    const started = Date.now();
    await page.waitForFunction(([text]) => document.querySelector('#node-data').textContent === text, [newText], { timeout: 10000 });
    setMs.push(Date.now() - started);
  }
  check(Math.min(...setMs) <= 1000, `a kazoo change shown within a second (took ${setMs.join(', ')} ms)`);
  check(await page.evaluate(() => [...document.querySelectorAll('#history td')].some((td) => td.textContent === 'changed')),
        'the change is in the node history');
  kazoo('create', '/webui-created', 'new');
  const createStarted = Date.now();
  await page.waitForSelector(rowSelector('/webui-created'), { timeout: 10000 });
  const createMs = Date.now() - createStarted;
  await shot(page, 'live');
  kazoo('delete', '/webui-created');
  // Deleted nodes go: no shown row has the path any more.
  await page.waitForFunction(() => ![...document.querySelectorAll('#tree-scroll .row:not([hidden])')]
    .some((r) => r.dataset.path === '/webui-created'), null, { timeout: 10000 });
  check(Number(await page.textContent('#rate')) >= 0, 'changes/s shown');
  check(/^0x[0-9a-f]+$/.test(await page.textContent('#mirror-zxid')), 'mirror zxid shown');
  log(`kazoo's setData shown after ${setMs.join(', ')} ms, its create after ${createMs} ms`);

  // ---------------------------------------------------------- null data
  // ZooKeeper keeps null data (kazoo's create(path, None)) apart from empty
  // data: the page shows a null marker for the one and empty text for the
  // other, in the node view, its changes and query results; data "null" is
  // text.
  execFileSync('/usr/bin/python3', [path.join(here, '../support/kazoo_null_data.py'), zkHosts, 'create', '/webui-null']);
  kazoo('create', '/webui-empty', '');
  kazoo('create', '/webui-null-text', 'null');
  const nullShown = (selector) => page.evaluate((s) => document.querySelectorAll(s + ' .null').length, selector);
  for (const p of ['/webui-null', '/webui-empty', '/webui-null-text']) {
    await page.waitForSelector(rowSelector(p), { timeout: 10000 });
    await page.click(rowSelector(p) + ' .name');
    await page.waitForFunction((p) => document.querySelector('#node-data').dataset.path === p &&
      [...document.querySelectorAll('#history td')].some((td) => td.textContent === 'created'), p);
    const isNull = p === '/webui-null';
    for (const view of ['text', 'json', 'hex', 'typed']) {
      await page.click(`.views button[data-view=${view}]`);
      equal(await nullShown('#node-data'), isNull ? 1 : 0, `null markers in the ${view} view of ${p}`);
    }
    await page.click('.views button[data-view=text]');
    equal(await page.textContent('#node-data'), isNull ? 'null' : p === '/webui-empty' ? '' : 'null', `${p} as text`);
    // The history's bytes column of the `created` change.
    equal(await nullShown('#history'), isNull ? 1 : 0, `null markers in the changes of ${p}`);
    if (isNull) await shot(page, 'null-data');
  }
  await page.click('#tabs button[data-tab=query]');
  await page.fill('#sql', "SELECT path, data, CAST(data AS TEXT) AS text FROM znodes WHERE path GLOB '/webui-*' ORDER BY path");
  await page.click('#run');
  await page.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  const nullCells = await page.$$eval('#result tr', (trs) => trs.slice(1).map((tr) =>
    [...tr.children].map((td) => (td.querySelector('.null') ? 'NULL' : '"' + td.textContent + '"')).join(' ')));
  equal(nullCells.join(' | '), '"/webui-empty" "" "" | "/webui-null" NULL NULL | "/webui-null-text" "null" "null"',
        'query cells of null, empty and "null" data');
  const nullCsv = page.waitForEvent('download');
  await page.click('#download-csv');
  equal(readFileSync(await (await nullCsv).path(), 'utf8'),
        'path,data,text\n/webui-empty,"",""\n/webui-null,,\n/webui-null-text,null,null\n', 'CSV of null and empty data');
  await page.click('#tabs button[data-tab=tree]');
  log('null data shown as null, empty data as empty, in the node view, its changes, query results and CSV');

  // ---------------------------------------------------------- query
  await page.click('#tabs button[data-tab=query]');
  await page.fill('#sql', "SELECT path, data_length FROM znodes WHERE parent = '/kafka/brokers/ids' ORDER BY path");
  await page.click('#run');
  await page.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  const table = await page.$$eval('#result tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  equal(table[0].join(','), 'path,data_length', 'result header');
  const expectedRows = childrenOf.get('/kafka/brokers/ids').map((n) => '/kafka/brokers/ids/' + n).sort()
    .map((p) => [p, p === selected ? newText.length : rows.get(p).data_length].join(','));
  equal(table.slice(1).map((r) => r.join(',')).join(' '), expectedRows.join(' '), 'query rows');
  await shot(page, 'query');
  await page.fill('#sql', 'SELECT depth, count(*) AS n FROM znodes GROUP BY depth ORDER BY depth');
  await page.click('#run');
  await page.waitForSelector('#chart:not([hidden])');
  await page.click('#explain');
  await page.waitForSelector('#plan:not([hidden])');
  check((await page.textContent('#plan')).length > 0, 'EXPLAIN shows a plan');
  await shot(page, 'query-chart');
  const download = page.waitForEvent('download');
  await page.click('#download-csv');
  const csv = readFileSync(await (await download).path(), 'utf8');
  check(csv.startsWith('depth,n\n0,1\n'), 'CSV download: ' + csv.slice(0, 40));
  // The Arrow file download is an Arrow IPC file with the same rows.
  const arrowDownload = page.waitForEvent('download');
  await page.click('#download-arrow');
  const arrowBytes = readFileSync(await (await arrowDownload).path());
  equal(new TextDecoder().decode(arrowBytes.subarray(0, 6)), 'ARROW1', 'the download is an Arrow file');
  const downloaded = tableFromIPC(arrowBytes, { useBigInt: true });
  const csvRows = csv.trim().split('\n').slice(1);
  equal(downloaded.numRows, csvRows.length, 'rows of the Arrow download');
  equal(downloaded.getChild('n').toArray().join(','), csvRows.map((r) => r.split(',')[1]).join(','), 'counts in the Arrow download');
  log('query rows equal the snapshot\'s; chart, EXPLAIN and CSV shown');

  // Large values and results: a cell shows the beginning of its value and
  // how much more there is; a result past what the page holds is refused
  // with advice instead of filling the tab.
  kazoo('create', '/webui-large', 'x'.repeat(100000));
  await page.fill('#sql', "SELECT path, data FROM znodes WHERE path = '/webui-large'");
  await page.click('#run');
  await page.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  const largeCell = await page.textContent('#result tr:nth-child(2) td:nth-child(2)');
  check(largeCell === 'x'.repeat(1000) + '… 99,000 more bytes',
        `a large value's cell: expected its first 1000 bytes and "… 99,000 more bytes", found ` +
        `${largeCell.length} characters ending "${largeCell.slice(-30)}"`);
  // A long text is clipped after whole characters: an emoji (two UTF-16
  // units) at the limit is shown whole, a letter whose combining mark would
  // pass it goes with the mark; the rest is counted in code points. A blob
  // is cut before a UTF-8 sequence (é: two bytes) that would not fit whole.
  await page.fill('#sql', "SELECT printf('%.*c', 999, 'x') || char(128077) || printf('%.*c', 100, 'y') AS emoji, " +
                          "printf('%.*c', 999, 'x') || 'q' || char(775) || 'z' AS mark, " +
                          "CAST(printf('%.*c', 999, 'x') || char(233) || 'z' AS BLOB) AS utf8");
  await page.click('#run');
  await page.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  const clippedCells = await page.$$eval('#result tr:nth-child(2) td', (tds) => tds.map((td) => td.textContent));
  equal(JSON.stringify(clippedCells), JSON.stringify(['x'.repeat(999) + '\u{1F44D}… 100 more characters',
                                                      'x'.repeat(999) + '… 3 more characters',
                                                      'x'.repeat(999) + '… 3 more bytes']),
        'long text cells clipped after whole characters, a blob before a UTF-8 sequence it would cut');
  await page.fill('#sql', 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80) ' +
                          'SELECT i, zeroblob(1000000) AS b FROM n');
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#query-error').textContent !== '', null, { timeout: 30000 });
  const tooLarge = await page.textContent('#query-error');
  check(/over 64 MiB.*LIMIT/.test(tooLarge), 'an 80 MB result refused with advice: ' + tooLarge);
  check(await page.isDisabled('#download-csv') && (await page.$$('#result tr')).length === 0,
        'no earlier result shown or offered for download with the refusal');
  log('a large value clipped in its cell; an 80 MB result refused: ' + tooLarge);

  // ---------------------------------------------------------- other views
  await page.click('#tabs button[data-tab=datasets]');
  await page.waitForSelector('#datasets tr');
  await shot(page, 'datasets');
  await page.click('#tabs button[data-tab=sizes]');
  await shot(page, 'sizes');

  // The group's servers and catalog come from the tree (kazoo's nodes stand
  // in for a --coord group's): a server's id and a dataset's name are znode
  // names, linked to their znode; what their data says is a value, also
  // when it looks like a path of a look-alike name.
  const [coordServer, coordEntry] = ['/zkarrow/servers/p\u0430th-1', '/zkarrow/datasets/p\u0430th'];
  for (const p of ['/zkarrow', '/zkarrow/servers', '/zkarrow/datasets']) kazoo('create', p, '');
  kazoo('create', coordServer, '/p\u0430th');
  const coordZxid = kazoo('create', coordEntry, '/p\u0430th/\u05d0\u05d1');
  await synced(url, coordZxid);
  // The page's tree has them too (the link selects the znode's row).
  await page.waitForFunction((z) => BigInt(document.querySelector('#mirror-zxid').textContent) >= BigInt(z), coordZxid);
  await page.click('#tabs button[data-tab=tree]');
  await page.click('#tabs button[data-tab=datasets]');
  await page.waitForSelector('#catalog a.znode', { timeout: 10000 });
  const groupCells = await page.$$eval('#servers tr, #catalog tr', (trs) => trs.filter((tr) => tr.querySelector('td'))
    .map((tr) => [...tr.children].map((td) => [td.textContent, td.querySelector('a.znode')?.dataset.path ?? '-',
                                               td.querySelectorAll('.mark, .ms, bdi').length].join(' '))));
  equal(JSON.stringify(groupCells), JSON.stringify([
    [`p\u0430th-1Latin+Cyrillic ${coordServer} 2`, '/p\u0430th - 0'],
    [`p\u0430thLatin+Cyrillic ${coordEntry} 2`, '/p\u0430th/\u05d0\u05d1 - 0']]), 'the group\'s servers and catalog');
  await page.click('#servers a.znode');
  await page.waitForFunction((p) => document.querySelector('#node-data').dataset.path === p &&
    !document.querySelector('#tab-tree').hidden, coordServer, { timeout: 5000 });
  equal(await page.textContent('#node-data'), '/p\u0430th', 'the data of the server linked from its id');
  await page.waitForSelector(`#tree-scroll .row.selected[data-path="${coordServer}"]`, { timeout: 5000 });
  // Its ACL read done, so that the deletes below do not make it a 404.
  await page.waitForFunction(() => !/reading/.test(document.querySelector('#acl').textContent), null, { timeout: 5000 });
  for (const p of [coordServer, coordEntry, '/zkarrow/servers', '/zkarrow/datasets', '/zkarrow']) kazoo('delete', p);
  log('the group\'s server ids and catalog names link to their znodes (shown in the tree); their data shown as values');

  // Treemap labels that do not fit end in an ellipsis after whole grapheme
  // clusters and whole tokens, measured in pixels: a letter with a
  // combining mark, a Devanagari consonant with its vowel sign, CJK, emoji,
  // an emoji with a variation selector (a token); a short name is drawn
  // whole. (ZooKeeper refuses names with characters past U+FFFF, such as
  // most emoji.) The labels are caught as the page draws them, with their
  // rectangles.
  const treemapNames = ['q\u0307'.repeat(80), '\u0915\u093f'.repeat(60), '\u6771\u4eac\u90fd\u5e81'.repeat(30),
                        '\u2615'.repeat(40), '\u270c\ufe0f'.repeat(20), 'short'];
  kazoo('create', '/webui-treemap', '');
  for (const name of treemapNames) kazoo('create', '/webui-treemap/' + name, 'd'.repeat(2000));
  await page.click('#tabs button[data-tab=tree]');
  await page.fill('#filter', '/webui-treemap/**');
  for (const name of treemapNames) await page.waitForSelector(rowSelector('/webui-treemap/' + name), { timeout: 10000 });
  await page.click(rowSelector('/webui-treemap') + ' .name');
  await page.waitForFunction(() => document.querySelector('#node-data').dataset.path === '/webui-treemap' &&
    !/reading/.test(document.querySelector('#acl').textContent), null, { timeout: 5000 });
  await page.evaluate(() => {
    const proto = CanvasRenderingContext2D.prototype;
    const [fillRect, fillText] = [proto.fillRect, proto.fillText];
    window.treemapLabels = [];
    proto.fillRect = function (x, y, w, h) { this.lastRect = { x, y, w, h }; return fillRect.call(this, x, y, w, h); };
    proto.fillText = function (text, x, y, ...rest) {
      if (this.canvas.id === 'treemap' && this.lastRect && y === this.lastRect.y + 13) {
        window.treemapContext = this;
        window.treemapLabels.push({ text, width: this.lastRect.w });
      }
      return fillText.call(this, text, x, y, ...rest);
    };
  });
  await page.click('#tabs button[data-tab=sizes]');
  const labels = await page.evaluate((names) => {
    const ctx = window.treemapContext;
    const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    const units = (t) => t.split(/(⟨U\+[0-9A-F]{4,6}⟩)/)
      .flatMap((part, i) => (i % 2 ? [part] : Array.from(graphemes.segment(part), (g) => g.segment)));
    const fits = (text, rectWidth) => ctx.measureText(text).width <= rectWidth - 8;
    return names.map((name) => {
      const shown = name.replace(/\ufe0f/g, '⟨U+FE0F⟩');
      const label = window.treemapLabels.find((l) => l.text === shown ||
        (l.text.length > 1 && l.text.endsWith('…') && shown.startsWith(l.text.slice(0, -1))));
      if (!label) return 'no label drawn; labels: ' + JSON.stringify(window.treemapLabels.map((l) => l.text));
      if (label.text === shown) return fits(shown, label.width) ? 'whole' : 'whole but wider than its rectangle';
      const all = units(shown);
      const kept = all.findIndex((_, k) => all.slice(0, k + 1).join('') === label.text.slice(0, -1)) + 1;
      if (!kept) return 'cut inside a character or token: ' + label.text;
      if (!fits(label.text, label.width)) return 'cut but wider than its rectangle: ' + label.text;
      if (fits(all.slice(0, kept + 1).join('') + '…', label.width)) return 'cut shorter than fits: ' + label.text;
      return 'cut after ' + kept + ' of ' + all.length;
    });
  }, treemapNames);
  log('treemap labels: ' + labels.join('; '));
  await shot(page, 'sizes-labels');
  labels.forEach((label, i) => check(i === treemapNames.length - 1 ? label === 'whole' : /^cut after \d+ of \d+$/.test(label),
                                     `the treemap label of ${JSON.stringify(treemapNames[i])}: ${label}`));
  // The root selected before the deletes: /webui-treemap, re-read as each
  // child goes, would have its ACL read while it is being deleted (a 404).
  await page.click('#tabs button[data-tab=tree]');
  await page.fill('#filter', '');
  await page.waitForSelector(rowSelector('/'));
  await page.click(rowSelector('/') + ' .name');
  await page.waitForFunction(() => document.querySelector('#node-data').dataset.path === '/' &&
    !/reading/.test(document.querySelector('#acl').textContent), null, { timeout: 5000 });
  for (const name of treemapNames) kazoo('delete', '/webui-treemap/' + name);
  kazoo('delete', '/webui-treemap');

  // ---------------------------------------------------------- writes
  const refused = await page.evaluate(async (token) => {
    const r = await fetch('/actions/set_data', { method: 'POST',
      headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: '/kafka', data: 'x', version: 0 }) });
    return { status: r.status, body: await r.json() };
  }, token);
  equal(refused.status, 403, 'a write without --allow-writes');
  check(/--allow-writes/.test(refused.body.error), 'the refusal says how to allow writes: ' + refused.body.error);

  const editor = await openPage(writeUrl);
  const dialogs = [];  // the confirmations' texts, as the operator reads them
  editor.on('dialog', (d) => { dialogs.push(d.message()); d.accept(); });
  await editor.click('#tabs button[data-tab=tree]');
  await editor.fill('#filter', selected);
  await editor.waitForSelector(rowSelector(selected));
  await editor.click(rowSelector(selected) + ' .name');
  await editor.waitForSelector('#node-actions:not([hidden])');
  const versionShown = await editor.textContent('#stat tr[data-field=version] .value');
  await editor.click('#edit-set');
  check((await editor.textContent('#editor-title')).includes('version ' + versionShown), 'the editor names the version');
  await editor.fill('#editor-data', 'edited in the browser');
  await editor.click('#editor-apply');
  await editor.waitForFunction(() => document.querySelector('#node-data').textContent === 'edited in the browser', null, { timeout: 5000 })
    .catch(async (e) => { throw new Error('the edit did not show: ' + await editor.textContent('#editor-result') + ' / ' + e.message); });
  // A concurrent change (kazoo) while the page holds the old version: the
  // page is paused, so it still shows it; the set is refused as a conflict.
  await editor.click('#pause');
  const versionBefore = await editor.textContent('#stat tr[data-field=version] .value');
  kazoo('set', selected, 'changed meanwhile');
  await editor.click('#edit-set');
  await editor.fill('#editor-data', 'would overwrite');
  await editor.click('#editor-apply');
  await editor.waitForFunction(() => /conflict/.test(document.querySelector('#editor-result').textContent));
  log('conflict shown: ' + await editor.textContent('#editor-result') + ' (page held version ' + versionBefore + ')');
  await shot(editor, 'edit-conflict');
  const readData = (p) => execFileSync('/usr/bin/python3', ['-c', 'import sys\nfrom kazoo.client import KazooClient\nz=KazooClient(hosts=sys.argv[1]); z.start()\ns=z.exists(sys.argv[2])\nprint(z.get(sys.argv[2])[0].decode() if s else "(none)")\nz.stop()', zkHosts, p], { encoding: 'utf8' }).trim();
  equal(readData(selected), 'changed meanwhile', 'the concurrent change was not overwritten');

  // Create a child and delete it again through the page.
  await editor.click('#pause');
  await editor.fill('#filter', '/kafka');
  await editor.waitForSelector(rowSelector('/kafka'));
  await editor.click(rowSelector('/kafka') + ' .name');
  await editor.waitForFunction(() => document.querySelector('#node-path').textContent === '/kafka' &&
    !document.querySelector('#node-actions').hidden);
  await editor.click('#edit-create');
  await editor.fill('#editor-name', 'made-in-the-browser');
  await editor.fill('#editor-data', 'hello');
  await editor.click('#editor-apply');
  await editor.waitForFunction(() => document.querySelector('#node-path').textContent === '/kafka/made-in-the-browser' &&
    document.querySelector('#node-data').textContent === 'hello', null, { timeout: 5000 });
  equal(readData('/kafka/made-in-the-browser'), 'hello', 'the node created in the browser, read by kazoo');
  await editor.click('#edit-delete');
  await editor.click('#editor-apply');
  await editor.waitForFunction(() => document.querySelector('#node-path').textContent === '/kafka', null, { timeout: 5000 });
  equal(readData('/kafka/made-in-the-browser'), '(none)', 'the node deleted in the browser is gone for kazoo');

  // The editor acts on the node it names, at the version it showed: opened
  // to delete one node, it still deletes that one after another node was
  // selected. While a newly selected node is read (its query held here),
  // nothing of the previous one stands for it: Edit and Delete would act on
  // it at the previous node's version.
  const [editA, editB] = ['/webui-edit-a', '/webui-edit-b'];
  kazoo('create', editA, 'a');
  kazoo('create', editB, 'b');
  await editor.fill('#filter', '/webui-edit-*');
  await editor.waitForSelector(rowSelector(editB), { timeout: 10000 });
  await editor.click(rowSelector(editA) + ' .name');
  await editor.waitForFunction((p) => document.querySelector('#node-path').textContent === p &&
    document.querySelector('#node-data').textContent === 'a' &&
    !document.querySelector('#node-actions').hidden, editA, { timeout: 5000 });
  await editor.click('#edit-delete');
  const heldQueries = [];
  let holdQueries = true;
  await editor.route('**/query', (route) => (holdQueries ? heldQueries.push(route) : route.continue()));
  await editor.click(rowSelector(editB) + ' .name');
  await editor.waitForFunction(() => document.querySelector('#node-path').textContent === '/webui-edit-b');
  equal(JSON.stringify(await editor.evaluate(() => [document.querySelector('#node-actions').hidden,
                                                    document.querySelector('#node-data').textContent])),
        JSON.stringify([true, '']), 'Edit and Delete hidden, no data shown, while a newly selected node is read');
  holdQueries = false;
  for (const route of heldQueries) await route.continue();
  await editor.unroute('**/query');
  await editor.waitForFunction(() => document.querySelector('#node-data').textContent === 'b' &&
    !document.querySelector('#node-actions').hidden, null, { timeout: 5000 });
  dialogs.length = 0;
  await editor.click('#editor-apply');
  await editor.waitForFunction(() => document.querySelector('#node-path').textContent === '/', null, { timeout: 5000 })
    .catch(async () => { throw new Error('the delete did not finish: ' + await editor.textContent('#editor-result')); });
  equal(dialogs.join(' / '), 'Really delete ' + editA + '?', 'the confirmation names the node the editor named');
  equal(readData(editA), '(none)', 'the node the editor named is deleted');
  equal(readData(editB), 'b', 'the node selected later is left');
  kazoo('delete', editB);

  // ---------------------------------------------------------- names that hide characters
  // A zero-width space makes a second /webui-cfg, a right-to-left override
  // makes "abc\u202etxt.exe" read as "abcexe.txt": the page shows each such
  // character as a marked ⟨U+…⟩ token in the tree, the node's path, query
  // cells and the delete confirmation, and sends, filters and copies the
  // real name.
  const zwsp = '/webui-cfg\u200b', rlo = '/webui-abc\u202etxt.exe';
  const shownAs = { '/webui-cfg': '/webui-cfg', [zwsp]: '/webui-cfg⟨U+200B⟩', [rlo]: '/webui-abc⟨U+202E⟩txt.exe' };
  kazoo('create', '/webui-cfg', 'plain');
  kazoo('create', zwsp, 'zero-width');
  kazoo('create', rlo, 'bidi');
  const shownRows = () => editor.$$eval('#tree-scroll .row:not([hidden])', (els) => els.map((e) => e.dataset.path));
  const rowName = (p) => editor.$eval(rowSelector(p) + ' .name', (e) =>
    ({ text: e.textContent, tokens: [...e.querySelectorAll('.cp')].map((t) => t.dataset.char) }));
  // Filtering by the real name finds that node alone.
  await editor.fill('#filter', zwsp);
  await editor.waitForFunction((p) => [...document.querySelectorAll('#tree-scroll .row:not([hidden])')]
    .map((e) => e.dataset.path).join('|') === '/|' + p, zwsp, { timeout: 5000 })
    .catch(async () => { throw new Error('filter by the real name shows ' + JSON.stringify(await shownRows())); });
  // The rows past the list's end are hidden, not left on screen with the
  // names they showed before the filter.
  const onScreen = await editor.$$eval('#tree-scroll .row', (els) =>
    els.filter((e) => e.getClientRects().length > 0).map((e) => e.dataset.path));
  equal(JSON.stringify(onScreen), JSON.stringify(['/', zwsp]), 'tree rows on screen with the filter');
  await editor.fill('#filter', '/webui-*');
  await editor.waitForSelector(rowSelector(rlo), { timeout: 10000 });
  await editor.waitForSelector(rowSelector(zwsp), { timeout: 10000 });
  for (const [p, shown] of Object.entries(shownAs)) {
    const name = await rowName(p);
    equal(name.text, shown.slice(1), `the tree row of ${JSON.stringify(p)}`);
    equal(JSON.stringify(name.tokens), JSON.stringify([...p].filter((c) => c > '\u007f')),
          `marked tokens in the tree row of ${JSON.stringify(p)}`);
  }
  await editor.click(rowSelector(zwsp) + ' .name');
  await editor.waitForFunction((shown) => document.querySelector('#node-path').textContent === shown &&
    document.querySelector('#node-data').textContent === 'zero-width' &&
    !document.querySelector('#node-actions').hidden, shownAs[zwsp], { timeout: 5000 })
    .catch(async () => { throw new Error('node path shown: ' + await editor.textContent('#node-path')); });
  equal(await editor.$$eval('#node-path .cp', (ts) => ts.length), 1, 'marked tokens in the node path');
  await shot(editor, 'hidden-names');
  // Copying the shown path copies the real one.
  equal(JSON.stringify(await copiedText(editor, '#node-path')), JSON.stringify(zwsp), 'the node path as copied');
  // Query cells of path and name show the tokens; SQL literals and the CSV
  // hold the real characters.
  await editor.click('#tabs button[data-tab=query]');
  await editor.fill('#sql', 'SELECT path, name, CAST(data AS TEXT) AS text FROM znodes WHERE path IN ' +
                            `('/webui-cfg', '${zwsp}', '${rlo}') ORDER BY path`);
  await editor.click('#run');
  await editor.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  const nameCells = await editor.$$eval('#result tr', (trs) => trs.slice(1).map((tr) =>
    [...tr.children].map((td) => td.textContent + '/' + td.querySelectorAll('.cp').length).join(' ')));
  equal(nameCells.join(' | '),
        '/webui-abc⟨U+202E⟩txt.exe/1 webui-abc⟨U+202E⟩txt.exe/1 bidi/0 | /webui-cfg/0 webui-cfg/0 plain/0 | ' +
        '/webui-cfg⟨U+200B⟩/1 webui-cfg⟨U+200B⟩/1 zero-width/0', 'query cells of hidden characters');
  // Copying the table, or some of its rows from the middle of one, gives its
  // cells apart by tabs and its rows by line breaks, with the real names.
  equal(JSON.stringify(await copiedText(editor, '#result')),
        JSON.stringify(`path\tname\ttext\n${rlo}\t${rlo.slice(1)}\tbidi\n/webui-cfg\twebui-cfg\tplain\n` +
                       `${zwsp}\t${zwsp.slice(1)}\tzero-width`), 'the result table as copied');
  equal(JSON.stringify(await copiedText(editor, '#result tr:nth-child(2) td:nth-child(2)', '#result tr:nth-child(4)')),
        JSON.stringify(`${rlo.slice(1)}\tbidi\n/webui-cfg\twebui-cfg\tplain\n${zwsp}\t${zwsp.slice(1)}\tzero-width`),
        'result rows as copied from the middle of one');
  const namesCsv = editor.waitForEvent('download');
  await editor.click('#download-csv');
  equal(JSON.stringify(readFileSync(await (await namesCsv).path(), 'utf8')),
        JSON.stringify(`path,name,text\n${rlo},${rlo.slice(1)},bidi\n/webui-cfg,webui-cfg,plain\n${zwsp},${zwsp.slice(1)},zero-width\n`),
        'CSV of hidden characters');
  await editor.click('#tabs button[data-tab=tree]');
  // Deleting each hidden-character node: the editor and the confirmation
  // name it with its token, and exactly that node goes.
  for (const p of [zwsp, rlo]) {
    await editor.click(rowSelector(p) + ' .name');
    await editor.waitForFunction((shown) => document.querySelector('#node-path').textContent === shown &&
      !document.querySelector('#node-actions').hidden, shownAs[p], { timeout: 5000 });
    await editor.click('#edit-delete');
    check((await editor.textContent('#editor-title')).startsWith('Delete ' + shownAs[p] + ' at version'),
          'the editor names the node with its token: ' + await editor.textContent('#editor-title'));
    dialogs.length = 0;
    await editor.click('#editor-apply');
    await editor.waitForFunction(() => document.querySelector('#node-path').textContent === '/', null, { timeout: 5000 })
      .catch(async () => { throw new Error('the delete did not finish: ' + await editor.textContent('#editor-result')); });
    equal(dialogs.join(' / '), 'Really delete ' + shownAs[p] + '?', 'the delete confirmation');
    equal(readData(p), '(none)', `${JSON.stringify(p)} deleted in the browser is gone for kazoo`);
    equal(readData('/webui-cfg'), 'plain', `/webui-cfg after the delete of ${JSON.stringify(p)}`);
  }
  equal(readData('/webui-cfg'), 'plain', 'the plain /webui-cfg is left');
  kazoo('delete', '/webui-cfg');

  // Right-to-left names keep the path's order: in /webui-rtl/אב/גד the
  // bidi algorithm would lay out אב/גד from right to left (/webui-rtl/גד/אב)
  // unless each name is isolated. Measured on screen: the left edges of
  // "w", "א" and "ג" go left to right.
  const [rtlParent, rtl] = ['/webui-rtl/\u05d0\u05d1', '/webui-rtl/\u05d0\u05d1/\u05d2\u05d3'];
  for (const p of ['/webui-rtl', rtlParent, rtl]) kazoo('create', p, 'rtl');
  const leftEdges = (selector) => editor.evaluate((selector) => {
    const box = document.querySelector(selector);
    return ['w', '\u05d0', '\u05d2'].map((c) => {
      const texts = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
      for (let t; (t = texts.nextNode());) {
        const at = t.data.indexOf(c);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(t, at);
        range.setEnd(t, at + 1);
        return range.getBoundingClientRect().left;
      }
      return NaN;
    });
  }, selector);
  const inOrder = (edges) => edges[0] < edges[1] && edges[1] < edges[2];
  await editor.fill('#filter', '/webui-rtl/**');
  await editor.waitForSelector(rowSelector(rtl), { timeout: 10000 });
  await editor.click(rowSelector(rtl) + ' .name');
  await editor.waitForFunction((p) => document.querySelector('#node-path').textContent === p &&
    !document.querySelector('#node-actions').hidden, rtl, { timeout: 5000 });
  const pathEdges = await leftEdges('#node-path');
  check(inOrder(pathEdges), 'the names of /webui-rtl/\\u05d0\\u05d1/\\u05d2\\u05d3 in order in the node path: ' +
        'left edges of w, \\u05d0, \\u05d2 at ' + pathEdges.join(', '));
  await editor.click('#tabs button[data-tab=query]');
  await editor.fill('#sql', "SELECT path FROM znodes WHERE path GLOB '/webui-rtl/*/*'");
  await editor.click('#run');
  await editor.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  equal(await editor.textContent('#result tr:nth-child(2) td'), rtl, 'the query cell of the right-to-left path');
  const cellEdges = await leftEdges('#result tr:nth-child(2) td');
  check(inOrder(cellEdges), 'the names of the right-to-left path in order in its query cell: ' + cellEdges.join(', '));
  await editor.click('#tabs button[data-tab=tree]');
  await editor.click('#edit-delete');
  dialogs.length = 0;
  await editor.click('#editor-apply');
  await editor.waitForFunction((p) => document.querySelector('#node-path').textContent === p, rtlParent, { timeout: 5000 });
  // The confirmation isolates each name with FSI and PDI, as the page does.
  equal(JSON.stringify(dialogs), JSON.stringify(['Really delete /\u2068webui-rtl\u2069/\u2068\u05d0\u05d1\u2069/\u2068\u05d2\u05d3\u2069?']),
        'the delete confirmation of the right-to-left path');
  equal(readData(rtl), '(none)', 'the right-to-left path deleted in the browser is gone for kazoo');
  equal(readData(rtlParent), 'rtl', 'its parent is left');
  log('right-to-left names keep the path\'s order in the node path, a query cell and the confirmation');
  log('hidden characters shown as tokens in the tree, node path, query cells and confirmations; ' +
      'filter, SQL, copy, CSV and delete use the real names');

  // ---------------------------------------------------------- look-alike names
  // "p\u0430th" with a Cyrillic "\u0430" reads as the Latin "path" and is
  // another node: a name mixing scripts gets a marker naming them, its
  // characters of the script it has fewer of are underlined with their code
  // point in a title, and the confirmation shows them as tokens. Names of
  // one script (Cyrillic, Han), Japanese (Han and kana) and Latin with Han
  // are not marked.
  const lookAlikes = [
    ['path', null, []],
    ['p\u0430th', 'Latin+Cyrillic', ['U+0430']],
    ['k\u03bfnfig', 'Latin+Greek', ['U+03BF']],
    ['\u043fa\u0440\u043e\u043b\u044c', 'Cyrillic+Latin', ['U+0061']],  // Cyrillic with a Latin "a"
    ['\u043f\u0443\u0442\u044c', null, []],
    ['\u6771\u4eac', null, []],
    ['\u30ab\u30bf\u30ab\u30ca\u6f22\u5b57', null, []],
    ['user-\u7530\u4e2d', null, []],
  ];
  kazoo('create', '/webui-scripts', 'scripts');
  for (const [name] of lookAlikes) kazoo('create', '/webui-scripts/' + name, name);
  await editor.fill('#filter', '/webui-scripts/**');
  for (const [name, marker, underlined] of lookAlikes) {
    const p = '/webui-scripts/' + name;
    await editor.waitForSelector(rowSelector(p), { timeout: 10000 });
    const shown = await editor.$eval(rowSelector(p) + ' .name', (e) => {
      const text = e.cloneNode(true);
      for (const extra of text.querySelectorAll('.toggle, .mark, .badge')) extra.remove();
      const mark = e.querySelector('.mark');
      return { text: text.textContent, marker: mark && mark.textContent, markerTitle: mark && mark.title,
               underlined: [...e.querySelectorAll('.ms')].map((u) => u.textContent + ' ' + u.title) };
    });
    equal(shown.text, name, `the tree row of ${JSON.stringify(p)}`);
    equal(shown.marker, marker, `the scripts marker of ${JSON.stringify(p)}`);
    if (marker) {
      check(shown.markerTitle.startsWith('mixed scripts: this name has ' + marker.replace('+', ' and ')),
            `the marker's title of ${JSON.stringify(p)}: ${shown.markerTitle}`);
    }
    equal(JSON.stringify(shown.underlined.map((u) => u.split(',')[0])),
          JSON.stringify(underlined.map((cp) => String.fromCodePoint(parseInt(cp.slice(2), 16)) + ' ' + cp)),
          `the underlined characters of ${JSON.stringify(p)}`);
  }
  // Selects the look-alike node `p` (data `data`), checks its path as shown
  // (with `marker`) and as copied (without), deletes it in the browser and
  // checks the confirmation (`confirmed`, tokens for what looks alike) and
  // that kazoo finds it gone.
  const deleteLookAlike = async (p, data, marker, confirmed, what) => {
    await editor.click(rowSelector(p) + ' .name');
    await editor.waitForFunction((d) => document.querySelector('#node-data').textContent === d &&
      !document.querySelector('#node-actions').hidden, data, { timeout: 5000 });
    equal(await editor.textContent('#node-path'), p + marker, `the node path of the ${what}`);
    await shot(editor, what.replace(/ /g, '-'));
    equal(JSON.stringify(await copiedText(editor, '#node-path')), JSON.stringify(p),
          `the ${what} node path as copied (no marker)`);
    await editor.click('#edit-delete');
    dialogs.length = 0;
    await editor.click('#editor-apply');
    const parent = p.slice(0, p.lastIndexOf('/'));
    await editor.waitForFunction((q) => document.querySelector('#node-path').textContent === q, parent, { timeout: 5000 });
    equal(dialogs.join(' / '), `Really delete ${confirmed}?`, `the delete confirmation of the ${what}`);
    equal(readData(p), '(none)', `the ${what} node deleted in the browser is gone for kazoo`);
  };
  const lookAlike = '/webui-scripts/p\u0430th';
  await deleteLookAlike(lookAlike, 'p\u0430th', 'Latin+Cyrillic', '/webui-scripts/p⟨U+0430⟩th', 'look-alike name');
  equal(readData('/webui-scripts/path'), 'path', 'the all-Latin /webui-scripts/path is left');
  log('names mixing scripts marked with their scripts, minority characters underlined, tokens in the confirmation; ' +
      'names of one script, Japanese and Latin with Han not marked');

  // ---------------------------------------------------------- composed and decomposed names
  // "caf\u00e9" and "cafe\u0301" look alike and are siblings: the one not
  // in NFC gets a marker whose title spells it, its changed cluster is
  // underlined, and the confirmation shows its combining mark as a token.
  const [composed, decomposed] = ['/webui-nfc/caf\u00e9', '/webui-nfc/cafe\u0301'];
  kazoo('create', '/webui-nfc', 'nfc');
  kazoo('create', composed, 'composed');
  kazoo('create', decomposed, 'decomposed');
  await editor.fill('#filter', '/webui-nfc/**');
  const nfcRow = async (p) => {
    await editor.waitForSelector(rowSelector(p), { timeout: 10000 });
    return editor.$eval(rowSelector(p) + ' .name', (e) => {
      const mark = e.querySelector('.mark');
      return { text: e.textContent, marker: mark && mark.textContent, markerTitle: mark && mark.title,
               underlined: [...e.querySelectorAll('.ms')].map((u) => [u.textContent, u.title]) };
    });
  };
  const composedRow = await nfcRow(composed), decomposedRow = await nfcRow(decomposed);
  equal(JSON.stringify(composedRow), JSON.stringify({ text: 'caf\u00e9', marker: null, markerTitle: null, underlined: [] }),
        'the tree row of the composed (NFC) name');
  equal(decomposedRow.text, 'cafe\u0301not NFC', 'the tree row of the decomposed name');
  equal(decomposedRow.marker, 'not NFC', 'the marker of the decomposed name');
  check(decomposedRow.markerTitle.startsWith('not NFC: e + U+0301 (NFC: \u00e9, U+00E9)'),
        'the marker\'s title spells the decomposed name: ' + decomposedRow.markerTitle);
  equal(JSON.stringify(decomposedRow.underlined), JSON.stringify([['e\u0301', 'not NFC: e + U+0301 (NFC: \u00e9, U+00E9)']]),
        'the underlined cluster of the decomposed name');
  await deleteLookAlike(decomposed, 'decomposed', 'not NFC', '/webui-nfc/cafe⟨U+0301⟩', 'decomposed name');
  equal(readData(composed), 'composed', 'the composed sibling is left');
  log('a name not in NFC marked and spelled beside its NFC sibling; the confirmation shows its combining mark');

  // ---------------------------------------------------------- which query cells are znodes
  // The server names the column each result field copies (zkarrow.origin):
  // only znodes' path and parent (also aliased) are links to their znode,
  // and its name a name; the node's data, a literal and an expression are
  // values, though they look like a path or a look-alike name.
  const greek = '/webui-scripts/k\u03bfnfig';
  await editor.click('#tabs button[data-tab=query]');
  await editor.fill('#sql', 'SELECT path, parent, name, path AS p, CAST(data AS TEXT) AS text, ' +
                            `'${greek}' AS literal, upper(path) AS u FROM znodes WHERE path = '${greek}'`);
  await editor.click('#run');
  await editor.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  const originCells = await editor.$$eval('#result tr:nth-child(2) td', (tds) => tds.map((td) =>
    [td.textContent, td.classList.contains('znode') ? 'znode' : 'value', td.querySelector('a.znode')?.dataset.path ?? '-',
     td.querySelectorAll('.mark').length].join(' ')));
  equal(JSON.stringify(originCells), JSON.stringify([
    `${greek}Latin+Greek znode ${greek} 1`, '/webui-scripts znode /webui-scripts 0', 'k\u03bfnfigLatin+Greek znode - 1',
    `${greek}Latin+Greek znode ${greek} 1`, 'k\u03bfnfig value - 0', `${greek} value - 0`,
    '/WEBUI-SCRIPTS/K\u03bfNFIG value - 0']), 'query cells of znodes and of values');
  await editor.click('#result tr:nth-child(2) td:nth-child(4) a.znode');
  await editor.waitForFunction((d) => document.querySelector('#node-data').textContent === d &&
    !document.querySelector('#tab-tree').hidden, 'k\u03bfnfig', { timeout: 5000 });
  equal(await editor.textContent('#node-path'), greek + 'Latin+Greek', 'the node path linked from a query cell');
  // Two columns of one name (a join's p.path and c.path) are two columns,
  // in the table and the CSV.
  await editor.click('#tabs button[data-tab=query]');
  await editor.fill('#sql', 'SELECT p.path, c.path FROM znodes p JOIN znodes c ON c.parent = p.path ' +
                            `WHERE c.path = '${greek}'`);
  await editor.click('#run');
  await editor.waitForFunction(() => /rows/.test(document.querySelector('#query-info').textContent));
  const joinedCells = await editor.$$eval('#result tr:nth-child(2) td a.znode', (links) => links.map((a) => a.dataset.path));
  equal(JSON.stringify(joinedCells), JSON.stringify(['/webui-scripts', greek]), 'the links of two columns named path');
  const joinedCsv = editor.waitForEvent('download');
  await editor.click('#download-csv');
  equal(readFileSync(await (await joinedCsv).path(), 'utf8'), `path,path\n/webui-scripts,${greek}\n`,
        'the CSV of two columns named path');
  log('only query cells of znodes\' path, parent and name are znodes (paths link to the tree); data, literals and ' +
      'expressions are values; two columns of one name stay apart');

  // ---------------------------------------------------------- reconnect
  // The change stream breaks and the server stays away past the page's
  // first reload (a restart): the page marks its tree stale and, once the
  // server is back, reloads and follows changes again.
  const relay = await relayTo(url);
  const watcher = await openPage(relay.url, /*lostConnections=*/true);
  relay.cut();
  await watcher.waitForSelector('#live.stale', { timeout: 10000 });
  await watcher.waitForFunction(() => /^not live since .*reloading in 5 s$/.test(document.querySelector('#status').textContent),
                                null, { timeout: 10000 });
  log('stream cut: ' + await watcher.textContent('#status'));
  await shot(watcher, 'stale');
  relay.restore();
  await watcher.waitForSelector('#live:not(.stale)', { timeout: 15000 });
  kazoo('create', '/webui-after-restart', 'back');
  await watcher.waitForSelector(rowSelector('/webui-after-restart'), { timeout: 10000 });
  await watcher.close();
  relay.close();
  log('after the server came back the page reloaded and follows changes');

  check(problems.length === 0, 'no console errors or CSP violations:\n' + problems.join('\n'));
  log('all checks passed');
} finally {
  await browser.close();
}
