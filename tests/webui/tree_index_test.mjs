// The page's tree index (src/webui/page/app.js: loadTree, idOf) in Node, on
// tables like /znodes sends: rows sorted by path in UTF-8 byte order. Each
// row's parent and the lookup of each path are checked against a plain
// search; names with a byte below '/' ("a-b" sorting between "a" and
// "a/x") take the binary search, names above U+FFFF (whose UTF-16 order
// differs) the page's Map. Exits non-zero on the first wrong answer.
//
// usage: node tests/webui/tree_index_test.mjs
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const webui = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/webui');
const fl = createRequire(path.join(webui, 'package.json'))('@uwdata/flechette');

// The page's tree code, from its constants to the tree view (HTTP helpers
// left out): the functions under test, not a copy of them.
const source = fs.readFileSync(path.join(webui, 'page/app.js'), 'utf8');
const section = (from, to) => {
  const start = source.indexOf(from), end = source.indexOf(to);
  if (start < 0 || end < start) throw new Error(`app.js no longer has "${from}" before "${to}"`);
  return source.slice(start, end);
};
const code = section('  const KINDS =', '  // ---------------------------------------------------------------- HTTP') +
             section('  const tree = {', '  function sortedKids(');
const makePage = new Function(code + '\nreturn { tree, loadTree, idOf };');

const parentOf = (p) => (p === '/' ? null : p.lastIndexOf('/') === 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
const byBytes = (paths) => paths.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

function check(label, paths, expectSorted) {
  const page = makePage();
  const table = fl.tableFromArrays({
    path: paths,
    kind: paths.map(() => 'persistent'),
    ephemeral_owner: paths.map(() => 0),
    data_length: paths.map((p) => p.length),
    depth: paths.map((p) => (p === '/' ? 0 : p.split('/').length - 1)),
    error: paths.map(() => null),
  });
  page.loadTree(table);
  const index = new Map(paths.map((p, i) => [p, i]));
  for (let i = 0; i < paths.length; ++i) {
    const want = parentOf(paths[i]) === null ? -1 : index.get(parentOf(paths[i]));
    if (page.tree.parent[i] !== want) {
      throw new Error(`${label}: parent of ${paths[i]} is row ${page.tree.parent[i]}, expected ${want}`);
    }
    if (page.idOf(paths[i]) !== i) throw new Error(`${label}: idOf(${paths[i]}) is ${page.idOf(paths[i])}, expected ${i}`);
  }
  if (page.idOf('/no/such') !== undefined) throw new Error(`${label}: found /no/such`);
  if ((page.tree.sorted > 0) !== expectSorted) {
    throw new Error(`${label}: expected the ${expectSorted ? 'sorted' : 'Map'} index, found sorted=${page.tree.sorted}`);
  }
  if (page.tree.subCount[0] !== paths.length) {
    throw new Error(`${label}: the root's subtree counts ${page.tree.subCount[0]}, expected ${paths.length}`);
  }
  console.log(`tree_index_test: ${label}: ${paths.length} rows right`);
}

// Three levels of names that sort around '/': "a" < "a-b" < "a.c" < "a/...".
const names = ['a', 'a-b', 'a.c', 'b', 'job', 'job-1', 'x'];
const all = ['/'];
const grow = (p, depth) => {
  for (const n of names) {
    const child = (p === '/' ? '' : p) + '/' + n;
    all.push(child);
    if (depth < 3) grow(child, depth + 1);
  }
};
grow('/', 1);
check('names around /', byBytes(all), true);
check('above U+FFFF', byBytes(['/', '/a', '/a/\uE000', '/a/\u{1F600}', '/a/\u{1F600}/z', '/a/\uE000/q']), false);
