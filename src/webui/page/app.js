// zkarrow's web UI: the tree, a node, live changes, SQL, datasets and sizes,
// all read as Arrow (flechette decodes it) from the server that serves this
// page. No framework: a virtualised tree over typed arrays keeps 1M znodes
// usable. The bearer token, when the server wants one, is asked for once,
// kept in this tab's sessionStorage and sent as a header, never in a URL.
'use strict';

(() => {
  const fl = globalThis.fl;
  const $ = (id) => document.getElementById(id);
  const ROW_HEIGHT = 20;
  const KINDS = ['persistent', 'ephemeral', 'container', 'ttl'];
  // What loadTree reads of /znodes: about a third of the table's bytes.
  const TREE_COLUMNS = 'path,kind,ephemeral_owner,data_length,depth,error';

  // ---------------------------------------------------------------- HTTP

  let token = sessionStorage.getItem('zkarrow-token') || '';

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  // The server's JSON error ({"error": ..., "status": N}) as an Error.
  async function failure(response) {
    let message = response.status + ' ' + response.statusText;
    try {
      const body = await response.json();
      if (body && body.error) message = body.error;
    } catch (e) { /* not JSON */ }
    const error = new Error(message);
    error.status = response.status;
    return error;
  }

  async function request(target, init) {
    const response = await fetch(target, Object.assign({}, init, {
      headers: headers(init && init.headers), cache: 'no-store',
    }));
    if (response.status === 401) { askToken('the server refused the token'); }
    if (!response.ok) throw await failure(response);
    return response;
  }

  // What the page holds of one query's result: the table shows its first
  // rows, and the downloads need all of it in the page, so a larger result
  // is refused instead of taking the tab's memory.
  const QUERY_MAX_BYTES = 64 * 1024 * 1024;

  // int64 columns (zxids, session ids past 2^53) arrive as BigInt.
  async function arrowTable(target, init) {
    const response = await request(target, init);
    const reader = response.body.getReader();
    const parts = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > QUERY_MAX_BYTES) {
        reader.cancel();
        throw new Error('the result is over ' + QUERY_MAX_BYTES / (1024 * 1024) + ' MiB, what this page ' +
                        'holds: add a LIMIT or select fewer columns, or run it with `zkarrow query --server`');
      }
      parts.push(value);
    }
    return fl.tableFromIPC(concat(parts), { useBigInt: true });
  }

  function query(sql) {
    return arrowTable('/query', { method: 'POST', body: sql, headers: { 'Content-Type': 'text/plain' } });
  }

  const sqlText = (s) => "'" + String(s).replace(/'/g, "''") + "'";

  // ------------------------------------------------------ names as shown
  // ZooKeeper takes any Unicode in a name, also characters that show
  // nothing (zero-width space, soft hyphen, BOM), that reorder the text
  // around them (bidi controls) and control characters: `/cfg` and
  // `/cfg\u200b` would look alike, and a confirmation could read as another
  // node than the one it acts on. Wherever the page shows a name, a path or
  // a value (and messages that may hold one), each such character is a
  // marked token ⟨U+200B⟩; so is ⟨ itself, so that a name's own text never
  // passes for a token. In a name, a path or a value so is a space that is
  // easily missed: at either end, next to a path's slash, or next to another
  // space (HTML folds them into one). Everything the page sends, filters on
  // or copies keeps the real characters.
  const HIDDEN_CHARACTER = '(?! )[\\p{Cc}\\p{Cf}\\p{Z}\\p{Default_Ignorable_Code_Point}\\u27e8]';
  const HIDDEN_IN_MESSAGE = new RegExp(HIDDEN_CHARACTER, 'gu');
  // A path is shown name by name: a space is easily missed at a name's
  // ends (next to a path's slash) too.
  const HIDDEN_IN_NAME = new RegExp(HIDDEN_CHARACTER + '|(?<=^| ) | (?=$| )', 'gu');
  // A path with right-to-left names gets each name isolated from its
  // neighbours: the bidi algorithm would otherwise lay out such names next
  // to each other from right to left, so that /a/אב/גד reads as /a/גד/אב.
  // RIGHT_TO_LEFT: the blocks of right-to-left letters (bidi classes R, AL).
  const RIGHT_TO_LEFT = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;
  const codePointOf = (c) => 'U+' + c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
  const codePointToken = (c) => '⟨' + codePointOf(c) + '⟩';

  // Look-alike names: "pаth" with a Cyrillic "а" (U+0430) reads as the
  // Latin "path" and is another node. A name whose letters come from more
  // than one script gets a marker naming them, and its characters of the
  // scripts it has fewer of are underlined with their code point in a title
  // (tokens where only a string can go). Characters of no one script count
  // for none (Common: digits, punctuation, symbols; Inherited: combining
  // marks). As in Unicode's "highly restrictive" identifiers (UTS #39), Han
  // with kana, with Bopomofo or with Hangul, and Latin with any of those, is
  // how Japanese, Chinese and Korean are written: not marked. A letter of a
  // script not listed here counts as "another script".
  const SCRIPTS = ['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Cherokee', 'Coptic', 'Hebrew',
                   'Arabic', 'Syriac', 'Thaana', 'Nko', 'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati',
                   'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan',
                   'Myanmar', 'Khmer', 'Mongolian', 'Ethiopic', 'Hangul', 'Hiragana', 'Katakana', 'Bopomofo',
                   'Han', 'Yi', 'Canadian_Aboriginal', 'Tifinagh', 'Glagolitic', 'Runic', 'Ogham', 'Vai',
                   'Javanese', 'Balinese', 'Lisu', 'Osage', 'Deseret', 'Gothic'];
  const SCRIPT_OF = new RegExp(SCRIPTS.map((s) => '(\\p{Script=' + s + '})').join('|'), 'u');
  const NO_SCRIPT = /[\p{Script=Common}\p{Script=Inherited}\p{Script=Unknown}]/u;
  const CJK_SCRIPT_SETS = [['Han', 'Hiragana', 'Katakana'], ['Han', 'Bopomofo'], ['Han', 'Hangul']];
  const scriptCache = new Map();

  // The script of the character `c` as shown to the operator, '' for none.
  function scriptOf(c) {
    let script = scriptCache.get(c);
    if (script === undefined) {
      const m = NO_SCRIPT.test(c) ? null : SCRIPT_OF.exec(c);
      script = m ? SCRIPTS[m.indexOf(c, 1) - 1].replace('_', ' ') : NO_SCRIPT.test(c) ? '' : 'another script';
      scriptCache.set(c, script);
    }
    return script;
  }

  // null for a name of one script; else { scripts (in the order of their
  // first character), major (the one the name has most of; on a tie Latin,
  // in which most names are written, else the first) }.
  function mixedScripts(name) {
    if (!/[^\x00-\x7f]/.test(name)) return null;
    const counts = new Map();
    for (const c of name) {
      const script = scriptOf(c);
      if (script) counts.set(script, (counts.get(script) || 0) + 1);
    }
    if (counts.size < 2) return null;
    const scripts = [...counts.keys()];
    const beyondLatin = scripts.filter((s) => s !== 'Latin');
    if (CJK_SCRIPT_SETS.some((set) => beyondLatin.every((s) => set.includes(s)))) return null;
    let major = scripts[0];
    for (const s of scripts) {
      const more = counts.get(s) - counts.get(major);
      if (more > 0 || (more === 0 && s === 'Latin')) major = s;
    }
    return { scripts, major };
  }
  const isMinority = (c, mixed) => { const s = scriptOf(c); return s !== '' && s !== mixed.major; };

  // Composed and decomposed names: "é" as U+00E9 and as "e" + U+0301 look
  // alike and are two nodes. A name not in NFC (what keyboards and most
  // tools produce) gets a marker, and each cluster (a character and its
  // combining marks) that NFC would change is underlined with a title that
  // spells it ("not NFC: e + U+0301 (NFC: é, U+00E9)"); where only a string
  // can go its changed characters are tokens (e⟨U+0301⟩).
  const CLUSTER = /\P{M}\p{M}*|\p{M}+/gu;
  const notNfc = (name) => /[^\x00-\x7f]/.test(name) && name.normalize('NFC') !== name;
  const clusters = (text) => Array.from(text.matchAll(CLUSTER), (m) => m[0]);
  // Whether the `i`th character `c` of a cluster that NFC changes shows as
  // itself: a base character that NFC keeps, not the marks.
  const keptInCluster = (c, i) => i === 0 && !/\p{M}/u.test(c) && c.normalize('NFC') === c;
  const spelled = (cluster) => Array.from(cluster, (c, i) => (keptInCluster(c, i) ? c : codePointOf(c))).join(' + ');
  const notNfcNote = (cluster) => {
    const nfc = cluster.normalize('NFC');
    return 'not NFC: ' + spelled(cluster) + ' (NFC: ' + nfc + ', ' + Array.from(nfc, codePointOf).join(' + ') + ')';
  };

  // `text` as pieces: strings shown as they are, and {char} to show as a
  // token.
  function shownPieces(text, asMessage) {
    const s = String(text);
    const hidden = asMessage ? HIDDEN_IN_MESSAGE : HIDDEN_IN_NAME;
    if (s.search(hidden) < 0) return [s];
    const pieces = [];
    let at = 0;
    for (const m of s.matchAll(hidden)) {
      if (m.index > at) pieces.push(s.slice(at, m.index));
      pieces.push({ char: m[0] });
      at = m.index + m[0].length;
    }
    if (at < s.length) pieces.push(s.slice(at));
    return pieces;
  }

  // A marker after a name (what `text` says, `title` why): the copy
  // handler leaves it out (its data-char is empty).
  function nameMarker(text, title) {
    const marker = document.createElement('span');
    marker.className = 'mark';
    marker.textContent = text;
    marker.title = title;
    marker.dataset.char = '';
    return marker;
  }

  // The token of the character `c`: an element of its own (styled apart
  // from text; the copy handler puts the character back).
  function tokenElement(c) {
    const token = document.createElement('span');
    token.className = 'cp';
    token.textContent = codePointToken(c);
    token.title = 'the character ' + token.textContent.slice(1, -1) + ', which would not show as itself';
    token.dataset.char = c;
    return token;
  }

  // A value that is no znode's name or path (a query cell of another column
  // or of an expression, a dataset's fields): a fragment with its tokens,
  // neither split into names at its slashes nor marked as a look-alike name.
  function shownValue(text) {
    const out = document.createDocumentFragment();
    for (const piece of shownPieces(text)) out.append(typeof piece === 'string' ? piece : tokenElement(piece.char));
    return out;
  }

  // A name, path or message for the page: a fragment with its tokens.
  // `asMessage`: a sentence, whose spaces are text. A text that starts with
  // a slash is taken for a path and shown name by name.
  function shownName(text, asMessage) {
    const s = String(text);
    const out = document.createDocumentFragment();
    if (!asMessage && s[0] === '/') {
      const isolate = RIGHT_TO_LEFT.test(s);
      s.split('/').forEach((name, i) => {
        if (i) out.append('/');
        if (!name) return;
        if (!isolate) { out.append(shownName(name)); return; }
        const isolated = document.createElement('bdi');
        isolated.append(shownName(name));
        out.append(isolated);
      });
      return out;
    }
    const mixed = asMessage ? null : mixedScripts(s);
    const decomposed = !asMessage && notNfc(s);
    for (const piece of shownPieces(s, asMessage)) {
      if (typeof piece === 'string') {
        if (!mixed && !decomposed) { out.append(piece); continue; }
        let run = '';
        for (const cluster of clusters(piece)) {
          const why = [];
          if (decomposed && cluster.normalize('NFC') !== cluster) why.push(notNfcNote(cluster));
          for (const c of mixed ? cluster : []) {
            if (!isMinority(c, mixed)) continue;
            why.push(codePointOf(c) + ', a ' + scriptOf(c) + ' character in a name mostly ' + mixed.major);
          }
          if (!why.length) { run += cluster; continue; }
          if (run) out.append(run);
          run = '';
          const marked = document.createElement('span');
          marked.className = 'ms';
          marked.textContent = cluster;
          marked.title = why.join('; ');
          out.append(marked);
        }
        if (run) out.append(run);
        continue;
      }
      out.append(tokenElement(piece.char));
    }
    if (mixed) {
      const minority = mixed.scripts.filter((s) => s !== mixed.major);
      out.append(nameMarker(mixed.scripts.join('+'),
        'mixed scripts: this name has ' + mixed.scripts.join(' and ') + ' characters, so it may look like ' +
        'another name; the ' + minority.join(' and ') + ' ones are underlined'));
    }
    if (decomposed) {
      const notes = [...new Set(clusters(s).filter((c) => c.normalize('NFC') !== c).map(notNfcNote))];
      out.append(nameMarker('not NFC', (notes.length ? notes.join('; ') : 'not NFC') +
        ': a name typed or pasted elsewhere is usually NFC, and would be another node'));
    }
    return out;
  }

  // A name or path where only a string can go (dialogs, the canvas): also
  // the characters a look-alike name has fewer of and those NFC would
  // change are tokens. A path's
  // right-to-left names are isolated by FSI and PDI, the string form of
  // <bdi>.
  function shownText(text) {
    const s = String(text);
    if (s[0] === '/') {
      const isolate = RIGHT_TO_LEFT.test(s);
      return s.split('/').map((name) => name && (isolate ? '\u2068' + shownText(name) + '\u2069' : shownText(name)))
        .join('/');
    }
    const mixed = mixedScripts(s);
    const decomposed = notNfc(s);
    return shownPieces(s).map((p) => {
      if (typeof p !== 'string') return codePointToken(p.char);
      if (!mixed && !decomposed) return p;
      return clusters(p).map((cluster) => {
        const changed = decomposed && cluster.normalize('NFC') !== cluster;
        return Array.from(cluster, (c, i) => ((mixed && isMinority(c, mixed)) || (changed && !keptInCluster(c, i))
          ? codePointToken(c) : c)).join('');
      }).join('');
    }).join('');
  }

  // Strings, and nodes such as a shownName of a path.
  function setStatus(...parts) { $('status').replaceChildren(...parts); }

  function askToken(why) {
    $('login').hidden = false;
    document.querySelector('main').hidden = true;
    $('login-error').textContent = why || '';
  }

  // ---------------------------------------------------- IPC stream framing
  // /changes never ends: its bytes are split into encapsulated messages here
  // (continuation marker, metadata length, Message flatbuffer, body), and
  // each record batch is decoded by flechette together with the schema and
  // dictionaries that came before it. Only the few Message fields needed
  // are read from the flatbuffer.

  const MSG_SCHEMA = 1, MSG_DICTIONARY = 2, MSG_BATCH = 3;
  const EOS = new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0]);

  class FlatTable {
    constructor(bytes, pos) {
      this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.bytes = bytes;
      this.pos = pos;
      this.vtable = pos - this.v.getInt32(pos, true);
      this.vtableSize = this.v.getUint16(this.vtable, true);
    }
    static root(bytes) {
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return new FlatTable(bytes, v.getUint32(0, true));
    }
    offset(field) {
      const at = 4 + 2 * field;
      return at < this.vtableSize ? this.v.getUint16(this.vtable + at, true) : 0;
    }
    uint8(field) { const o = this.offset(field); return o ? this.v.getUint8(this.pos + o) : 0; }
    int64(field) { const o = this.offset(field); return o ? Number(this.v.getBigInt64(this.pos + o, true)) : 0; }
    bool(field) { return this.uint8(field) !== 0; }
    indirect(field) {
      const o = this.offset(field);
      if (!o) return 0;
      const at = this.pos + o;
      return at + this.v.getUint32(at, true);
    }
    table(field) { const at = this.indirect(field); return at ? new FlatTable(this.bytes, at) : null; }
    string(field) {
      const at = this.indirect(field);
      if (!at) return null;
      const length = this.v.getUint32(at, true);
      return new TextDecoder().decode(this.bytes.subarray(at + 4, at + 4 + length));
    }
    tables(field) {
      const at = this.indirect(field);
      const out = [];
      if (!at) return out;
      const count = this.v.getUint32(at, true);
      for (let i = 0; i < count; ++i) {
        const element = at + 4 + 4 * i;
        out.push(new FlatTable(this.bytes, element + this.v.getUint32(element, true)));
      }
      return out;
    }
  }

  // Message: 0 version, 1 header_type, 2 header, 3 bodyLength, 4 custom_metadata.
  function parseMessage(metadata) {
    const message = FlatTable.root(metadata);
    const meta = {};
    for (const kv of message.tables(4)) meta[kv.string(0)] = kv.string(1);
    const out = { type: message.uint8(1), bodyLength: message.int64(3), meta };
    if (out.type === MSG_DICTIONARY) {
      const header = message.table(2);  // DictionaryBatch: 0 id, 1 data, 2 isDelta
      out.dictionaryId = header.int64(0);
      out.isDelta = header.bool(2);
    }
    return out;
  }

  function concat(parts) {
    let size = 0;
    for (const p of parts) size += p.byteLength;
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.byteLength; }
    return out;
  }

  class IpcStreamDecoder {
    constructor(onBatch) {
      this.onBatch = onBatch;  // (flechette Table, batch metadata) => void
      this.pending = [];
      this.pendingBytes = 0;
      this.schema = null;
      this.dictionaries = new Map();  // id -> [message bytes]
    }
    push(chunk) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.byteLength;
      let buffer = this.pending.length === 1 ? this.pending[0] : concat(this.pending);
      let at = 0;
      while (buffer.byteLength - at >= 8) {
        const v = new DataView(buffer.buffer, buffer.byteOffset + at, 8);
        let prefix = 4;
        let length = v.getInt32(0, true);
        if (length === -1) { prefix = 8; length = v.getInt32(4, true); }
        if (length === 0) { at += prefix; continue; }  // end of stream
        if (buffer.byteLength - at < prefix + length) break;
        const metadata = buffer.subarray(at + prefix, at + prefix + length);
        const message = parseMessage(metadata);
        const total = prefix + length + message.bodyLength;
        if (buffer.byteLength - at < total) break;
        this.handle(message, buffer.slice(at, at + total));
        at += total;
      }
      buffer = buffer.subarray(at);
      this.pending = buffer.byteLength ? [buffer] : [];
      this.pendingBytes = buffer.byteLength;
    }
    handle(message, bytes) {
      if (message.type === MSG_SCHEMA) {
        this.schema = bytes;
        this.dictionaries.clear();
      } else if (message.type === MSG_DICTIONARY) {
        const list = message.isDelta ? (this.dictionaries.get(message.dictionaryId) || []) : [];
        list.push(bytes);
        this.dictionaries.set(message.dictionaryId, list);
      } else if (message.type === MSG_BATCH && this.schema) {
        const parts = [this.schema];
        for (const list of this.dictionaries.values()) parts.push(...list);
        parts.push(bytes, EOS);
        this.onBatch(fl.tableFromIPC(concat(parts), { useBigInt: true }), message.meta);
      }
    }
  }

  // ------------------------------------------------------------ the tree
  // Structure of arrays indexed by node id (ids are never reused); children
  // as arrays of ids, sorted by name when first shown.

  const tree = {
    n: 0, capacity: 0,
    path: [],
    parent: new Int32Array(0), kind: new Uint8Array(0), alive: new Uint8Array(0),
    expanded: new Uint8Array(0), dataLength: new Int32Array(0),
    subCount: new Float64Array(0), subBytes: new Float64Array(0), flashAt: new Float64Array(0),
    kids: [], kidsSorted: new Uint8Array(0),
    error: new Map(), roots: [], zxid: 0,
    // Rows [0, sorted) are in path order, as /znodes sends them: found by a
    // binary search. Rows added since (live changes) are in `added`.
    sorted: 0, added: new Map(),
  };

  function grow(minimum) {
    let capacity = Math.max(1024, tree.capacity);
    while (capacity < minimum) capacity *= 2;
    if (capacity === tree.capacity) return;
    const resize = (old, Type) => { const a = new Type(capacity); a.set(old); return a; };
    tree.parent = resize(tree.parent, Int32Array);
    tree.kind = resize(tree.kind, Uint8Array);
    tree.alive = resize(tree.alive, Uint8Array);
    tree.expanded = resize(tree.expanded, Uint8Array);
    tree.dataLength = resize(tree.dataLength, Int32Array);
    tree.subCount = resize(tree.subCount, Float64Array);
    tree.subBytes = resize(tree.subBytes, Float64Array);
    tree.flashAt = resize(tree.flashAt, Float64Array);
    tree.kidsSorted = resize(tree.kidsSorted, Uint8Array);
    tree.capacity = capacity;
  }

  const parentPath = (path) => {
    const slash = path.lastIndexOf('/');
    return slash <= 0 ? (path === '/' ? null : '/') : path.slice(0, slash);
  };
  const kindCode = (kind) => { const k = KINDS.indexOf(kind); return k < 0 ? 0 : k; };
  const nameOf = (id) => { const p = tree.path[id]; return p === '/' ? '/' : p.slice(p.lastIndexOf('/') + 1); };

  // A utf8 column's strings. Paths are nearly always ASCII: then each
  // batch's bytes are decoded once and the strings are slices of it, which
  // is several times faster than a decode per value at 1M rows.
  function strings(table, name) {
    const column = table.getChild(name);
    const out = new Array(column.length);
    const decoder = new TextDecoder();
    let at = 0;
    for (const batch of column.data) {
      const { values, offsets } = batch;
      const text = values && offsets && !batch.nullCount ? decoder.decode(values) : null;
      if (text !== null && text.length === values.length) {
        for (let i = 0; i < batch.length; ++i) out[at++] = text.substring(offsets[i], offsets[i + 1]);
      } else {
        for (let i = 0; i < batch.length; ++i) out[at++] = batch.at(i);
      }
    }
    return out;
  }

  // The row of `path` among the first `end` rows, which are in path order.
  function searchSorted(path, end) {
    let lo = 0, hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tree.path[mid] < path) lo = mid + 1; else hi = mid;
    }
    return lo < end && tree.path[lo] === path ? lo : undefined;
  }

  // The live znode at `path`, if there is one.
  function idOf(path) {
    let id = tree.added.get(path);
    if (id === undefined) id = searchSorted(path, tree.sorted);
    return id !== undefined && tree.alive[id] ? id : undefined;
  }

  function link(id, parent) {
    tree.parent[id] = parent === undefined ? -1 : parent;
    if (parent === undefined) tree.roots.push(id);
    else (tree.kids[parent] || (tree.kids[parent] = [])).push(id);
  }

  // A value of schema or field metadata (flechette gives a Map, or null).
  const metadataValue = (metadata, key) => (metadata instanceof Map ? metadata.get(key) : undefined);
  const schemaMetadata = (table, key) => metadataValue(table.schema.metadata, key);

  function column(table, name) {
    const c = table.getChild(name);
    return c ? c.toArray() : null;
  }

  function loadTree(table) {
    const n = table.numRows;
    const paths = strings(table, 'path');
    const kinds = column(table, 'kind');
    const owners = column(table, 'ephemeral_owner');
    const lengths = column(table, 'data_length');
    const depths = column(table, 'depth');
    const errors = column(table, 'error');
    tree.n = 0; tree.capacity = 0;
    tree.parent = new Int32Array(0); tree.kind = new Uint8Array(0); tree.alive = new Uint8Array(0);
    tree.expanded = new Uint8Array(0); tree.dataLength = new Int32Array(0);
    tree.subCount = new Float64Array(0); tree.subBytes = new Float64Array(0);
    tree.flashAt = new Float64Array(0); tree.kidsSorted = new Uint8Array(0);
    grow(n + 1);
    tree.path = paths; tree.kids = new Array(n);
    const t0 = performance.now();
    tree.error = new Map(); tree.added = new Map(); tree.roots = [];
    for (let i = 0; i < n; ++i) {
      let kind = kindCode(kinds[i]);
      if (kind === 0 && owners[i]) kind = 1;
      tree.kind[i] = kind;
      tree.alive[i] = 1;
      tree.dataLength[i] = lengths[i] || 0;
      tree.subCount[i] = 1;
      tree.subBytes[i] = lengths[i] || 0;
      if (errors[i] != null) tree.error.set(i, errors[i]);
    }
    tree.n = n;
    const t1 = performance.now();
    // Parents, without a map of paths: the rows come sorted by path (byte
    // order), so a row's parent is the row before it or one of that row's
    // ancestors, unless siblings whose names continue the parent's with a
    // byte below '/' ("job-1" after "job") came between: then a binary
    // search of the rows before it. Rows out of order (JavaScript compares
    // UTF-16 units, which differs from UTF-8 bytes above U+FFFF) take a Map.
    let sorted = true;
    for (let i = 0; i < n; ++i) {
      const path = paths[i];
      if (i > 0 && !(paths[i - 1] < path)) { sorted = false; break; }
      const p = parentPath(path);
      let parent;
      if (p !== null) {
        let a = i - 1;
        while (a >= 0 && paths[a].length > p.length) a = tree.parent[a];
        parent = a >= 0 && paths[a] === p ? a : searchSorted(p, i);
      }
      link(i, parent);
    }
    tree.sorted = sorted ? n : 0;
    if (!sorted) {
      tree.roots = []; tree.kids = new Array(n);
      for (let i = 0; i < n; ++i) tree.added.set(paths[i], i);
      for (let i = 0; i < n; ++i) {
        const p = parentPath(paths[i]);
        link(i, p === null ? undefined : tree.added.get(p));
      }
    }
    let maxDepth = 0;
    for (let i = 0; i < n; ++i) if (depths[i] > maxDepth) maxDepth = depths[i];
    const t2 = performance.now();
    // Subtree sums, deepest first (a counting sort by depth).
    const start = new Int32Array(maxDepth + 2);
    for (let i = 0; i < n; ++i) ++start[depths[i] + 1];
    for (let d = 1; d <= maxDepth + 1; ++d) start[d] += start[d - 1];
    const order = new Int32Array(n);
    for (let i = 0; i < n; ++i) order[start[depths[i]]++] = i;
    for (let k = n - 1; k >= 0; --k) {
      const i = order[k];
      const p = tree.parent[i];
      if (p >= 0) { tree.subCount[p] += tree.subCount[i]; tree.subBytes[p] += tree.subBytes[i]; }
    }
    tree.roots.sort((a, b) => (tree.path[a] < tree.path[b] ? -1 : 1));
    for (const r of tree.roots) tree.expanded[r] = 1;
    return { rows: Math.round(t1 - t0), parents: Math.round(t2 - t1), sums: Math.round(performance.now() - t2) };
  }

  function sortedKids(id) {
    const kids = tree.kids[id];
    if (!kids) return [];
    if (!tree.kidsSorted[id]) {
      // Siblings share their parent's path: comparing paths compares names.
      kids.sort((a, b) => (tree.path[a] < tree.path[b] ? -1 : tree.path[a] > tree.path[b] ? 1 : 0));
      tree.kidsSorted[id] = 1;
    }
    return kids;
  }

  function addToAncestors(id, count, bytes) {
    for (let p = tree.parent[id]; p >= 0; p = tree.parent[p]) {
      tree.subCount[p] += count;
      tree.subBytes[p] += bytes;
    }
  }

  // One row of the change table, replayed as `watch` documents.
  function applyChange(row) {
    const path = row.path;
    let id = idOf(path);
    if (row.event === 'deleted') {
      if (id === undefined) return;
      removeSubtree(id);
      return;
    }
    if (row.event === 'resync') return;
    const length = row.data_length || 0;
    let kind = kindCode(row.kind);
    if (kind === 0 && row.ephemeral_owner) kind = 1;
    if (id === undefined) {
      id = tree.n++;
      grow(tree.n);
      tree.path[id] = path;
      tree.added.set(path, id);
      tree.alive[id] = 1;
      tree.kind[id] = kind;
      tree.dataLength[id] = length;
      tree.subCount[id] = 1;
      tree.subBytes[id] = length;
      tree.expanded[id] = 0;
      tree.kidsSorted[id] = 0;
      const p = parentPath(path);
      const parent = p === null ? undefined : idOf(p);
      link(id, parent);
      if (parent !== undefined) tree.kidsSorted[parent] = 0;
      addToAncestors(id, 1, length);
    } else {
      const delta = length - tree.dataLength[id];
      tree.dataLength[id] = length;
      tree.subBytes[id] += delta;
      tree.kind[id] = kind;
      addToAncestors(id, 0, delta);
    }
    if (row.error != null) tree.error.set(id, row.error); else tree.error.delete(id);
    tree.flashAt[id] = performance.now();
  }

  function removeSubtree(id) {
    addToAncestors(id, -tree.subCount[id], -tree.subBytes[id]);
    const p = tree.parent[id];
    if (p >= 0 && tree.kids[p]) {
      const at = tree.kids[p].indexOf(id);
      if (at >= 0) tree.kids[p].splice(at, 1);
    } else {
      tree.roots = tree.roots.filter((r) => r !== id);
    }
    const stack = [id];
    while (stack.length) {
      const i = stack.pop();
      tree.alive[i] = 0;
      if (tree.added.get(tree.path[i]) === i) tree.added.delete(tree.path[i]);
      tree.error.delete(i);
      if (tree.kids[i]) stack.push(...tree.kids[i]);
      tree.kids[i] = undefined;
    }
  }

  // ------------------------------------------------------ the tree view

  const view = { visible: new Int32Array(0), depth: new Int32Array(0), count: 0, selected: -1,
                 filter: null, marks: null, dirty: true, pool: [] };

  function globToRegExp(glob) {
    let source = '';
    for (let i = 0; i < glob.length; ++i) {
      const c = glob[i];
      if (c === '*' && glob[i + 1] === '*') { source += '.*'; ++i; }
      else if (c === '*') source += '[^/]*';
      else if (c === '?') source += '[^/]';
      else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp('^' + source + '$');
  }

  // Marks matching nodes 1 and their ancestors 2; the view then shows only
  // marked nodes, all expanded.
  function applyFilter() {
    const text = $('filter').value.trim();
    if (!text) { view.filter = null; view.marks = null; $('filter-info').textContent = ''; view.dirty = true; return; }
    const re = globToRegExp(text);
    const marks = new Uint8Array(tree.capacity);
    let matches = 0;
    for (let i = 0; i < tree.n; ++i) {
      if (!tree.alive[i] || !re.test(tree.path[i])) continue;
      marks[i] = 1;
      ++matches;
      for (let p = tree.parent[i]; p >= 0 && !marks[p]; p = tree.parent[p]) marks[p] = 2;
    }
    view.filter = re;
    view.marks = marks;
    $('filter-info').textContent = matches.toLocaleString() + ' match';
    view.dirty = true;
  }

  function rebuildVisible() {
    const out = []; const depth = [];
    const marks = view.marks;
    const stack = [];
    for (let r = tree.roots.length - 1; r >= 0; --r) stack.push(tree.roots[r], 0);
    while (stack.length) {
      const d = stack.pop(); const id = stack.pop();
      if (!tree.alive[id] || (marks && !marks[id])) continue;
      out.push(id); depth.push(d);
      if (marks ? true : tree.expanded[id]) {
        const kids = sortedKids(id);
        for (let k = kids.length - 1; k >= 0; --k) stack.push(kids[k], d + 1);
      }
    }
    view.visible = Int32Array.from(out);
    view.depth = Int32Array.from(depth);
    view.count = out.length;
    $('tree-spacer').style.height = view.count * ROW_HEIGHT + 'px';
    view.dirty = false;
  }

  function formatBytes(bytes) {
    if (bytes < 1024) return bytes + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = bytes; let u = -1;
    do { v /= 1024; ++u; } while (v >= 1024 && u < units.length - 1);
    return v.toFixed(v < 10 ? 1 : 0) + ' ' + units[u];
  }

  function rowElement(index) {
    while (view.pool.length <= index) {
      const row = document.createElement('div');
      row.className = 'row';
      const name = document.createElement('span'); name.className = 'name';
      const count = document.createElement('span'); count.className = 'num';
      const bytes = document.createElement('span'); bytes.className = 'num';
      row.append(name, count, bytes);
      $('tree-spacer').append(row);
      view.pool.push(row);
    }
    return view.pool[index];
  }

  function renderTree() {
    if (view.dirty) rebuildVisible();
    const scroller = $('tree-scroll');
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - 5);
    const last = Math.min(view.count, first + Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 10);
    const now = performance.now();
    let flashing = false;
    let used = 0;
    for (let i = first; i < last; ++i, ++used) {
      const id = view.visible[i];
      const row = rowElement(used);
      row.hidden = false;
      row.style.top = i * ROW_HEIGHT + 'px';
      row.dataset.id = id;
      row.dataset.path = tree.path[id];
      const kids = tree.kids[id];
      const hasKids = kids && kids.length > 0;
      const open = view.marks ? true : tree.expanded[id];
      const [name, count, bytes] = row.children;
      name.style.paddingLeft = view.depth[i] * 14 + 'px';
      name.textContent = '';
      const toggle = document.createElement('span');
      toggle.className = 'toggle';
      toggle.textContent = hasKids ? (open ? '▾' : '▸') : '';
      name.append(toggle, shownName(nameOf(id)));
      const kind = tree.kind[id];
      if (kind) {
        const badge = document.createElement('span');
        badge.className = 'badge ' + KINDS[kind];
        badge.textContent = KINDS[kind];
        name.append(badge);
      }
      const error = tree.error.get(id);
      if (error) {
        const badge = document.createElement('span');
        badge.className = 'badge error';
        badge.textContent = error;
        name.append(badge);
      }
      count.textContent = tree.subCount[id].toLocaleString();
      bytes.textContent = formatBytes(tree.subBytes[id]);
      const flash = now - tree.flashAt[id] < 1000;
      if (flash) flashing = true;
      row.className = 'row' + (id === view.selected ? ' selected' : '') + (flash ? ' flash' : '');
    }
    for (let k = used; k < view.pool.length; ++k) view.pool[k].hidden = true;
    if (flashing) scheduleRender();
  }

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; renderTree(); });
  }

  // Expands the ancestors of `id` and scrolls its row into view (unless the
  // filter hides it).
  function reveal(id) {
    for (let p = tree.parent[id]; p >= 0; p = tree.parent[p]) {
      if (!tree.expanded[p]) { tree.expanded[p] = 1; view.dirty = true; }
    }
    if (view.dirty) rebuildVisible();
    const at = view.visible.indexOf(id);
    const scroller = $('tree-scroll');
    const top = at * ROW_HEIGHT;
    if (at >= 0 && (top < scroller.scrollTop || top + ROW_HEIGHT > scroller.scrollTop + scroller.clientHeight)) {
      scroller.scrollTop = top - scroller.clientHeight / 2;
    }
    scheduleRender();
  }

  function toggle(id) {
    tree.expanded[id] = tree.expanded[id] ? 0 : 1;
    view.dirty = true;
    scheduleRender();
  }

  // ------------------------------------------------------ the node view

  const node = { path: null, row: null, view: 'text', seq: 0 };
  const history = new Map();  // path -> [{event, zxid, version, data_length, at}]
  const HISTORY_PER_PATH = 50;

  function hexDump(bytes) {
    const lines = [];
    const shown = Math.min(bytes.length, 64 * 1024);
    for (let at = 0; at < shown; at += 16) {
      const slice = bytes.subarray(at, Math.min(at + 16, shown));
      const hex = Array.from(slice, (b) => b.toString(16).padStart(2, '0')).join(' ');
      const ascii = Array.from(slice, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
      lines.push(at.toString(16).padStart(8, '0') + '  ' + hex.padEnd(48) + '  ' + ascii);
    }
    if (shown < bytes.length) lines.push('… ' + (bytes.length - shown) + ' more bytes');
    return lines.join('\n');
  }

  // A value that is not there: SQL's NULL, and ZooKeeper's null data (a
  // create or setData without data, which it keeps apart from empty data).
  // An element of its own, so that it never looks like the text "null" or
  // like an empty value.
  function nullMarker(title) {
    const span = document.createElement('span');
    span.className = 'null';
    span.textContent = 'null';
    span.title = title || 'no value (null)';
    return span;
  }
  const NULL_DATA = 'ZooKeeper\'s null data: created or set without data, unlike empty data';

  function renderData() {
    const row = node.row;
    const out = $('node-data');
    out.textContent = '';
    out.dataset.path = row ? node.path : '';
    if (!row) return;
    // A data cell is null either for an unreadable node (its `error` says
    // why) or for null data.
    if (row.data == null) {
      if (row.error == null) out.append(nullMarker(NULL_DATA));
      else out.textContent = '(not read: ' + row.error + ')';
      return;
    }
    const bytes = row.data;
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    if (node.view === 'text') out.textContent = text;
    else if (node.view === 'hex') out.textContent = hexDump(bytes);
    else if (node.view === 'json') {
      try { out.textContent = JSON.stringify(JSON.parse(text), null, 2); }
      catch (e) { out.textContent = '(not JSON: ' + e.message + ')'; }
    } else {
      const type = row.value_type;
      let value = row.value_text;
      if (type === 'int' || type === 'bool') value = row.value_int;
      else if (type === 'float') value = row.value_float;
      else if (type === 'binary') value = bytes.length + ' bytes';
      if (type === 'empty') out.textContent = type;
      else out.append(type + ': ', value == null ? nullMarker() : String(value));
    }
  }

  // A table cell: `text` shown as a name (shownName), a Node as it is, null
  // or undefined as the null marker.
  function cell(tr, text, tag, nullTitle) {
    const td = document.createElement(tag || 'td');
    if (text == null) td.append(nullMarker(nullTitle));
    else td.append(text instanceof Node ? text : shownName(text));
    tr.append(td);
    return td;
  }

  const STAT_FIELDS = ['czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion',
                       'ephemeral_owner', 'data_length', 'num_children', 'kind', 'ttl_ms', 'error'];

  function renderStat() {
    const table = $('stat');
    table.textContent = '';
    const row = node.row;
    if (!row) return;
    for (const field of STAT_FIELDS) {
      if (!(field in row)) continue;
      const tr = document.createElement('tr');
      tr.dataset.field = field;
      cell(tr, field, 'th');
      const value = row[field];
      const td = cell(tr, value == null ? null : String(value));
      td.className = 'value';
      if ((field === 'ctime' || field === 'mtime') && value != null) cell(tr, new Date(Number(value)).toISOString());
      else if (field.endsWith('zxid') || field === 'ephemeral_owner') cell(tr, value ? '0x' + BigInt(value).toString(16) : '');
      else cell(tr, '');
      table.append(tr);
    }
    renderAcl();
  }

  // The ACL is read from ZooKeeper (the action `acl`): the mirror keeps none.
  function renderAcl() {
    const acl = $('acl');
    acl.textContent = '';
    if (typeof node.acl === 'string') {
      const tr = document.createElement('tr');
      cell(tr, node.acl);
      acl.append(tr);
      return;
    }
    const entries = node.acl || [];
    const head = document.createElement('tr');
    ['scheme', 'id', 'perms'].forEach((h) => cell(head, h, 'th'));
    acl.append(head);
    for (const entry of entries) {
      const tr = document.createElement('tr');
      const perms = entry.perms;
      const letters = typeof perms === 'number'
        ? ['r', 'w', 'c', 'd', 'a'].filter((_, bit) => perms & (1 << bit)).join('') + ' (' + perms + ')'
        : String(perms);
      cell(tr, entry.scheme); cell(tr, entry.id); cell(tr, letters);
      acl.append(tr);
    }
  }

  function renderHistory() {
    const table = $('history');
    table.textContent = '';
    const list = history.get(node.path) || [];
    const head = document.createElement('tr');
    ['seen at', 'event', 'zxid', 'version', 'bytes'].forEach((h) => cell(head, h, 'th'));
    table.append(head);
    if (!list.length) { const tr = document.createElement('tr'); cell(tr, 'none yet'); table.append(tr); }
    for (let i = list.length - 1; i >= 0; --i) {
      const h = list[i];
      const tr = document.createElement('tr');
      // The locale's time may hold a narrow no-break space: text, not a name.
      cell(tr, document.createTextNode(new Date(h.at).toLocaleTimeString())); cell(tr, h.event);
      cell(tr, '0x' + BigInt(h.zxid || 0).toString(16)); cell(tr, String(h.version));
      cell(tr, h.null_data ? null : String(h.data_length), 'td', NULL_DATA);
      table.append(tr);
    }
  }

  function rowObject(table, i) {
    const out = {};
    for (const field of table.schema.fields) out[field.name] = table.getChild(field.name).at(i);
    return out;
  }

  async function readAcl(path, seq) {
    try {
      const response = await request('/actions/acl', { method: 'POST', body: JSON.stringify({ path }),
                                                       headers: { 'Content-Type': 'application/json' } });
      const answer = await response.json();
      if (seq !== node.seq) return;
      node.acl = answer.acl;
    } catch (e) {
      if (seq !== node.seq) return;
      node.acl = 'not read: ' + e.message;
    }
    renderAcl();
  }

  async function selectPath(path) {
    const seq = ++node.seq;
    const id = idOf(path);
    // The Sizes tab opens at the znode selected last (a leaf among its siblings).
    if (id !== undefined && path !== node.path) {
      treemap.focus = (tree.kids[id] && tree.kids[id].length) || tree.parent[id] < 0 ? id : tree.parent[id];
    }
    if (path !== node.path) {
      // Until this node is read, nothing of the previous one stands for it:
      // not its data, stat and ACL, nor its version, at which Edit and
      // Delete would act on this node.
      node.row = null;
      node.acl = null;
      renderData();
      renderStat();
      renderAcl();
      updateEditButtons();
    }
    node.path = path;
    view.selected = id === undefined ? -1 : id;
    scheduleRender();
    $('node-path').replaceChildren(shownName(path));
    try {
      const table = await query('SELECT * FROM znodes WHERE path = ' + sqlText(path));
      if (seq !== node.seq) return;
      node.row = table.numRows ? rowObject(table, 0) : null;
      // A znode gone (deleted while selected, or a link to one) has no ACL to read.
      node.acl = node.row ? 'reading…' : '(gone)';
      if (node.row) readAcl(path, seq);
      if (!node.row) $('node-data').textContent = '(gone)';
      else renderData();
      renderStat();
      renderHistory();
      updateEditButtons();
      setStatus('');
    } catch (e) {
      if (seq === node.seq) setStatus('reading ', shownName(path), shownName(': ' + e.message, true));
    }
  }

  // ------------------------------------------------------------- live

  const live = { paused: false, queue: [], times: [], controller: null, zxid: 0 };
  const QUEUE_LIMIT = 500000;

  function batchRows(table) {
    const names = ['path', 'event', 'kind', 'ephemeral_owner', 'data_length', 'error', 'zxid', 'version'];
    const cols = names.map((n) => column(table, n));
    // A null data cell is null data only where the stream says it read data
    // (zkarrow.data); otherwise it means not read.
    const data = schemaMetadata(table, 'zkarrow.data') === 'read' ? table.getChild('data') : null;
    const rows = [];
    for (let i = 0; i < table.numRows; ++i) {
      const row = {};
      names.forEach((n, k) => { row[n] = cols[k] ? cols[k][i] : null; });
      row.null_data = !!data && row.event !== 'deleted' && row.error == null && data.at(i) == null;
      rows.push(row);
    }
    return rows;
  }

  function noteRows(rows) {
    const now = Date.now();
    let selectedChanged = false;
    for (const row of rows) {
      if (row.event === 'resync') continue;
      let list = history.get(row.path);
      if (!list) { list = []; history.set(row.path, list); }
      list.push({ event: row.event, zxid: row.zxid, version: row.version, data_length: row.data_length,
                  null_data: row.null_data, at: now });
      if (list.length > HISTORY_PER_PATH) list.shift();
      if (row.path === node.path) selectedChanged = true;
      live.times.push(now);
    }
    return selectedChanged;
  }

  function applyRows(rows) {
    for (const row of rows) applyChange(row);
    view.dirty = true;
    if (view.marks) applyFilter();
    updateCounts();
    scheduleRender();
  }

  function updateCounts() {
    let count = 0;
    for (const r of tree.roots) count += tree.subCount[r];
    $('znode-count').textContent = count.toLocaleString();
    $('mirror-zxid').textContent = '0x' + BigInt(live.zxid || tree.zxid || 0).toString(16);
  }

  let selectedRefresh = 0;
  function onChangeBatch(table, meta) {
    const rows = batchRows(table);
    const selectedChanged = noteRows(rows);
    if (meta['zkarrow.zxid']) live.zxid = Number(meta['zkarrow.zxid']);
    if (live.paused) {
      live.queue.push(...rows);
      if (live.queue.length > QUEUE_LIMIT) { live.queue = []; live.reloadOnResume = true; }
      $('pause').textContent = 'Resume (' + live.queue.length.toLocaleString() + ' queued)';
      return;
    }
    applyRows(rows);
    if (selectedChanged) {
      clearTimeout(selectedRefresh);
      selectedRefresh = setTimeout(() => selectPath(node.path), 100);
    }
  }

  async function follow(fromZxid) {
    const controller = new AbortController();
    live.controller = controller;
    const decoder = new IpcStreamDecoder(onChangeBatch);
    try {
      const response = await request('/changes?from=' + fromZxid, { signal: controller.signal });
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        decoder.push(value);
      }
      reloadLater('the change stream ended');
    } catch (e) {
      if (controller.signal.aborted) return;
      reloadLater('change stream: ' + e.message);
    }
  }

  // The tree is live while /changes runs. Whatever ends the stream (serve
  // restarted, the network went) or fails a load, the header says since when
  // the tree shown is stale, and the page starts over from a fresh table
  // after a growing delay, until that works; a refused token asks for a new
  // one instead.
  const RELOAD_DELAYS_MS = [2000, 5000, 10000, 30000];
  const reloading = { timer: 0, attempt: 0, since: null };

  function reloadLater(why) {
    if (!reloading.since) reloading.since = new Date();
    const since = reloading.since.toLocaleTimeString();
    $('live').classList.add('stale');
    $('live').title = 'not live: the tree shown is as of ' + since;
    const delay = RELOAD_DELAYS_MS[Math.min(reloading.attempt++, RELOAD_DELAYS_MS.length - 1)];
    setStatus('not live since ' + since + ' (' + why + '); reloading in ' + delay / 1000 + ' s');
    clearTimeout(reloading.timer);
    reloading.timer = setTimeout(reload, delay);
  }

  async function reload() {
    try {
      await loadAll();
    } catch (e) {
      if (e.status !== 401) reloadLater(e.message);
    }
  }

  function markLive() {
    clearTimeout(reloading.timer);
    reloading.attempt = 0;
    reloading.since = null;
    $('live').classList.remove('stale');
    $('live').title = '';
  }

  setInterval(() => {
    const now = Date.now();
    while (live.times.length && live.times[0] < now - 5000) live.times.shift();
    $('rate').textContent = (live.times.length / 5).toFixed(1);
  }, 500);

  // ------------------------------------------------------------- query

  const result = { table: null };

  function isNumeric(table, name) {
    const t = table.getChild(name).type.typeId;
    return t === fl.Type.Int || t === fl.Type.Float || t === fl.Type.Decimal;
  }

  // A result cell shows at most this many characters (code points; bytes
  // of a blob) of its value, then how much more there is (the downloads
  // have it all): a few large values must not freeze the page.
  const CELL_MAX = 1000;

  // Which result columns hold znodes: the server names the table column a
  // field copies in its metadata (zkarrow.origin; none for an expression).
  // Paths and parents are links to their znode, names are shown as names
  // (look-alike markers); every other text is a value, also one that looks
  // like a path.
  const NODE_ORIGINS = new Map([['znodes.path', 'path'], ['znodes.parent', 'path'], ['znodes.name', 'name']]);
  const nodeKind = (field) => NODE_ORIGINS.get(metadataValue(field.metadata, 'zkarrow.origin')) || null;

  const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const segments = (text) => Array.from(graphemes.segment(text), (g) => g.segment);
  function codePoints(text) {
    let n = text.length;
    for (let i = 0; i + 1 < text.length; ++i) {
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { --n; ++i; }
    }
    return n;
  }

  // The longest beginning of `text` of whole grapheme clusters (a character
  // with its combining marks, an emoji with its modifiers) with at most
  // `max` code points, and the code points after it.
  function clipped(text, max) {
    if (text.length <= max) return { text, rest: 0 };
    let units = 0, points = 0;
    for (const { segment } of graphemes.segment(text)) {
      const n = codePoints(segment);
      if (points + n > max) break;
      points += n;
      units += segment.length;
    }
    return { text: text.slice(0, units), rest: codePoints(text) - points };
  }

  // A znode's path or name in a table cell, shown as a name; with `path`, a
  // link that shows that znode in the tree.
  function nodeCell(tr, text, path) {
    let shown = shownName(text);
    if (path != null) {
      const link = document.createElement('a');
      link.className = 'znode';
      link.href = '#';
      link.title = 'show this znode in the tree';
      link.dataset.path = path;
      link.append(shown);
      shown = link;
    }
    const td = cell(tr, shown);
    td.classList.add('znode');
    return td;
  }

  // `kind`: the column's nodeKind.
  function resultCell(tr, v, kind) {
    if (v == null) return cell(tr, null);
    let td, rest, unit;
    if (v instanceof Uint8Array) {
      // A blob is data, shown as it is (node data is never tokenised), cut
      // before a UTF-8 sequence that would not fit whole.
      let end = Math.min(v.length, CELL_MAX);
      for (let back = 0; back < 3 && end < v.length && (v[end] & 0xc0) === 0x80; ++back) --end;
      td = cell(tr, document.createTextNode(new TextDecoder().decode(v.subarray(0, end))));
      rest = v.length - end;
      unit = ' more bytes';
    } else {
      const s = String(v);
      const clip = clipped(s, CELL_MAX);
      td = kind ? nodeCell(tr, clip.text, kind === 'path' ? s : null) : cell(tr, shownValue(clip.text));
      rest = clip.rest;
      unit = ' more characters';
    }
    if (rest > 0) {
      const more = document.createElement('span');
      more.className = 'more';
      more.textContent = '… ' + rest.toLocaleString('en-US') + unit;
      td.append(more);
    }
  }

  function renderResult(table) {
    const out = $('result');
    out.textContent = '';
    const names = table.schema.fields.map((f) => f.name);
    const kinds = table.schema.fields.map(nodeKind);
    const head = document.createElement('tr');
    names.forEach((n) => cell(head, n, 'th'));
    out.append(head);
    const shown = Math.min(table.numRows, 1000);
    const cols = names.map((_, k) => table.getChildAt(k));
    for (let i = 0; i < shown; ++i) {
      const tr = document.createElement('tr');
      cols.forEach((c, k) => resultCell(tr, c.at(i), kinds[k]));
      out.append(tr);
    }
    $('query-info').textContent = table.numRows.toLocaleString() + ' rows' +
      (shown < table.numRows ? ' (first ' + shown + ' shown)' : '');
    const chart = $('chart');
    chart.hidden = !(names.length === 2 && table.numRows > 1 && isNumeric(table, names[0]) && isNumeric(table, names[1]));
    if (!chart.hidden) drawChart(chart, cols[0].toArray(), cols[1].toArray(), names);
  }

  function drawChart(canvas, xs, ys, names) {
    const ctx = canvas.getContext('2d');
    const w = canvas.width, h = canvas.height, pad = 40;
    ctx.clearRect(0, 0, w, h);
    const points = Array.from(xs, (x, i) => [Number(x), Number(ys[i])]).sort((a, b) => a[0] - b[0]);
    const [x0, x1] = [points[0][0], points[points.length - 1][0]];
    let y0 = Math.min(0, ...points.map((p) => p[1])), y1 = Math.max(...points.map((p) => p[1]));
    if (y1 === y0) y1 = y0 + 1;
    const sx = (x) => pad + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (w - 2 * pad);
    const sy = (y) => h - pad - ((y - y0) / (y1 - y0)) * (h - 2 * pad);
    ctx.strokeStyle = '#888'; ctx.fillStyle = '#333'; ctx.font = '11px sans-serif';
    ctx.beginPath(); ctx.moveTo(pad, pad / 2); ctx.lineTo(pad, h - pad); ctx.lineTo(w - pad / 2, h - pad); ctx.stroke();
    ctx.fillText(String(y1), 2, sy(y1) + 4); ctx.fillText(String(y0), 2, sy(y0));
    ctx.fillText(String(x0), pad, h - pad + 14); ctx.fillText(String(x1), w - pad - 30, h - pad + 14);
    ctx.fillText(names[1] + ' by ' + names[0], pad + 6, 12);
    ctx.strokeStyle = '#2f6fb3'; ctx.fillStyle = '#2f6fb3';
    if (points.length <= 60) {
      const bw = Math.max(2, (w - 2 * pad) / points.length * 0.6);
      for (const [x, y] of points) ctx.fillRect(sx(x) - bw / 2, sy(y), bw, sy(y0) - sy(y));
    } else {
      ctx.beginPath();
      points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
      ctx.stroke();
    }
  }

  async function runQuery(explain) {
    const sql = $('sql').value.trim();
    $('query-error').textContent = '';
    $('query-info').textContent = 'running…';
    if (!explain) {
      // The previous result goes: it must not pass for this one's.
      result.table = null;
      $('result').textContent = '';
      $('chart').hidden = true;
      $('download-arrow').disabled = true;
      $('download-csv').disabled = true;
    }
    const started = performance.now();
    try {
      if (explain) {
        const plan = await query('EXPLAIN QUERY PLAN ' + sql);
        const lines = [];
        const depth = new Map();
        for (let i = 0; i < plan.numRows; ++i) {
          const id = plan.getChild('id').at(i), parent = plan.getChild('parent').at(i);
          const d = (depth.get(parent) ?? -1) + 1;
          depth.set(id, d);
          lines.push('  '.repeat(d) + plan.getChild('detail').at(i));
        }
        $('plan').hidden = false;
        $('plan').textContent = lines.join('\n');
        $('query-info').textContent = 'plan';
        return;
      }
      const table = await query(sql);
      result.table = table;
      $('plan').hidden = true;
      renderResult(table);
      $('query-info').textContent += ' in ' + Math.round(performance.now() - started) + ' ms';
      $('download-arrow').disabled = false;
      $('download-csv').disabled = false;
    } catch (e) {
      $('query-info').textContent = '';
      $('query-error').replaceChildren(shownName(e.message, true));
    }
  }

  function download(name, blob) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function csvOf(table) {
    const names = table.schema.fields.map((f) => f.name);
    // NULL is an empty field, an empty value a quoted one ("") as in
    // PostgreSQL's CSV: null data stays apart from empty data.
    const quote = (v) => {
      if (v == null) return '';
      const s = v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
      return s === '' || /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
    };
    const lines = [names.map(quote).join(',')];
    const cols = names.map((_, k) => table.getChildAt(k));
    for (let i = 0; i < table.numRows; ++i) lines.push(cols.map((c) => quote(c.at(i))).join(','));
    return lines.join('\n') + '\n';
  }

  // ------------------------------------------------ datasets and servers

  // `nodePaths[k]`, for a column of znode names: the path of the znode a
  // value names, which its cell links to. The other columns' cells are
  // values (a dataset's target /datasets/NAME is no znode).
  function fillTable(table, names, rows, nodePaths) {
    table.textContent = '';
    const head = document.createElement('tr');
    names.forEach((n) => cell(head, n, 'th'));
    table.append(head);
    if (!rows.length) { const tr = document.createElement('tr'); cell(tr, 'none'); table.append(tr); }
    for (const r of rows) {
      const tr = document.createElement('tr');
      r.forEach((v, k) => {
        const pathOf = nodePaths && nodePaths[k];
        if (v == null) cell(tr, null);
        else if (pathOf) nodeCell(tr, String(v), pathOf(String(v)));
        else cell(tr, shownValue(typeof v === 'object' ? JSON.stringify(v) : String(v)));
      });
      table.append(tr);
    }
  }

  async function loadDatasets() {
    try {
      const list = await (await request('/datasets')).json();
      fillTable($('datasets'), ['target', 'version', 'rows', 'bytes', 'sha256', 'holders'],
        (list.datasets || []).map((d) => [d.target, d.version, d.total_records, d.total_bytes,
                                          d.sha256, d.holders || d.locations]));
      const root = $('coord-root').value.replace(/\/+$/, '');
      const servers = await query('SELECT name, CAST(data AS TEXT) AS info FROM znodes WHERE parent = ' +
                                  sqlText(root + '/servers') + ' ORDER BY name');
      fillTable($('servers'), ['id', 'endpoints'],
        Array.from({ length: servers.numRows }, (_, i) => [servers.getChild('name').at(i), servers.getChild('info').at(i)]),
        [(id) => root + '/servers/' + id]);
      const catalog = await query('SELECT name, CAST(data AS TEXT) AS entry FROM znodes WHERE parent = ' +
                                  sqlText(root + '/datasets') + ' ORDER BY name');
      fillTable($('catalog'), ['dataset', 'entry'],
        Array.from({ length: catalog.numRows }, (_, i) => [catalog.getChild('name').at(i), catalog.getChild('entry').at(i)]),
        [(name) => root + '/datasets/' + name]);
    } catch (e) { setStatus('datasets: ' + e.message); }
  }

  // ---------------------------------------------------------- treemap

  const treemap = { focus: -1, rects: [] };

  // Squarified layout of `items` ([{id, value}], value > 0) into a rectangle.
  function squarify(items, x, y, w, h, out) {
    let rest = items.slice();
    const total = rest.reduce((s, it) => s + it.value, 0);
    const scale = (w * h) / (total || 1);
    while (rest.length) {
      const side = Math.min(w, h);
      let row = [];
      let best = Infinity;
      for (const it of rest) {
        const candidate = row.concat(it);
        const area = candidate.reduce((s, c) => s + c.value * scale, 0);
        const thickness = area / side;
        let worst = 0;
        for (const c of candidate) {
          const length = (c.value * scale) / thickness;
          worst = Math.max(worst, thickness / length, length / thickness);
        }
        if (worst > best) break;
        best = worst; row = candidate;
      }
      const area = row.reduce((s, c) => s + c.value * scale, 0);
      const thickness = area / side;
      let at = 0;
      for (const c of row) {
        const length = (c.value * scale) / thickness;
        if (w >= h) out.push({ id: c.id, x, y: y + at, w: thickness, h: length });
        else out.push({ id: c.id, x: x + at, y, w: length, h: thickness });
        at += length;
      }
      if (w >= h) { x += thickness; w -= thickness; } else { y += thickness; h -= thickness; }
      rest = rest.slice(row.length);
    }
  }

  // `text` cut to `width` pixels of `ctx`'s font, ending in an ellipsis:
  // whole grapheme clusters (a character with its combining marks, an emoji
  // with its modifiers) and whole tokens (⟨U+200D⟩), never a part of one;
  // as it is when it fits. Measured, since a character's width varies
  // (CJK, emoji).
  const TOKEN = /⟨U\+[0-9A-F]{4,6}⟩/g;
  function fitted(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    const units = [];
    let at = 0;
    for (const m of text.matchAll(TOKEN)) {
      units.push(...segments(text.slice(at, m.index)), m[0]);
      at = m.index + m[0].length;
    }
    units.push(...segments(text.slice(at)));
    // The most units that fit with the ellipsis (widths grow with them).
    let lo = 0, hi = units.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (ctx.measureText(units.slice(0, mid).join('') + '…').width <= width) lo = mid; else hi = mid - 1;
    }
    return units.slice(0, lo).join('') + '…';
  }

  function drawTreemap() {
    const canvas = $('treemap');
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (treemap.focus < 0 || !tree.alive[treemap.focus]) treemap.focus = tree.roots[0] ?? -1;
    const focus = treemap.focus;
    if (focus < 0) return;
    $('treemap-path').replaceChildren(shownName(tree.path[focus]), ' — ' + formatBytes(tree.subBytes[focus]) + ' of data');
    const items = sortedKids(focus).filter((k) => tree.alive[k] && tree.subBytes[k] > 0)
      .map((k) => ({ id: k, value: tree.subBytes[k] })).sort((a, b) => b.value - a.value);
    if (tree.dataLength[focus] > 0) items.push({ id: focus, value: tree.dataLength[focus] });
    treemap.rects = [];
    squarify(items, 0, 0, canvas.width, canvas.height, treemap.rects);
    ctx.font = '11px sans-serif';
    treemap.rects.forEach((r, i) => {
      ctx.fillStyle = 'hsl(' + ((i * 47) % 360) + ', 45%, ' + (r.id === focus ? 88 : 72) + '%)';
      ctx.fillRect(r.x, r.y, r.w, r.h);
      ctx.strokeStyle = '#fff'; ctx.strokeRect(r.x, r.y, r.w, r.h);
      if (r.w > 60 && r.h > 28) {
        ctx.fillStyle = '#1d232b';
        const label = r.id === focus ? '(own data)' : shownText(nameOf(r.id));
        ctx.fillText(fitted(ctx, label, r.w - 8), r.x + 4, r.y + 13);
        ctx.fillText(formatBytes(r.id === focus ? tree.dataLength[focus] : tree.subBytes[r.id]), r.x + 4, r.y + 26);
      }
    });
  }

  // ------------------------------------------------------------ editing

  // target: the node the open editor names and the version it shows, what
  // Apply acts on (another node may be selected meanwhile).
  const writes = { allowed: false, mode: null, target: null };

  async function loadWriteMode() {
    try {
      const actions = await (await request('/actions')).json();
      const set = actions.find((a) => a.type === 'set_data');
      writes.allowed = !!(set && !/refused/.test(set.description));
    } catch (e) { writes.allowed = false; }
    updateEditButtons();
  }

  function updateEditButtons() {
    $('node-actions').hidden = !(writes.allowed && node.row);
  }

  function openEditor(mode) {
    writes.mode = mode;
    const version = node.row ? node.row.version : -1;
    writes.target = { path: node.path, version: Number(version) };
    $('editor').hidden = false;
    $('editor-result').textContent = '';
    $('editor-name').hidden = mode !== 'create';
    $('editor-data').hidden = mode === 'delete';
    const path = shownName(node.path);
    const title = $('editor-title');
    if (mode === 'set') title.replaceChildren('Set the data of ', path, ' at version ' + version);
    else if (mode === 'create') title.replaceChildren('Create a child of ', path);
    else title.replaceChildren('Delete ', path, ' at version ' + version + ' (it must have no children)');
    if (mode === 'set' && node.row.data == null && node.row.error == null) {
      title.append(' (its data is null; applying writes the text below, empty text as empty data)');
    }
    if (mode === 'set') $('editor-data').value = new TextDecoder().decode(node.row.data || new Uint8Array(0));
    else $('editor-data').value = '';
  }

  async function applyEdit() {
    const mode = writes.mode;
    const { path, version } = writes.target;
    const body = { path };
    let what;
    if (mode === 'set') { body.data = $('editor-data').value; body.version = version; what = 'set the data of ' + shownText(path); }
    if (mode === 'create') {
      body.path = (path === '/' ? '' : path) + '/' + $('editor-name').value;
      body.data = $('editor-data').value;
      what = 'create ' + shownText(body.path);
    }
    if (mode === 'delete') { body.version = version; what = 'delete ' + shownText(path); }
    if (!window.confirm('Really ' + what + '?')) return;
    const action = { set: 'set_data', create: 'create', delete: 'delete' }[mode];
    try {
      const response = await request('/actions/' + action, { method: 'POST', body: JSON.stringify(body),
                                                             headers: { 'Content-Type': 'application/json' } });
      const answer = await response.json();
      // The served state shows the write once the mirror reached its zxid.
      if (answer.zxid) {
        await request('/actions/sync', { method: 'POST', body: String(answer.zxid),
                                         headers: { 'Content-Type': 'application/json' } });
      }
      $('editor-result').className = '';
      $('editor-result').textContent = 'done at zxid 0x' + BigInt(answer.zxid || 0).toString(16);
      $('editor').hidden = true;
      selectPath(mode === 'create' ? body.path : mode === 'delete' ? parentPath(path) : path);
    } catch (e) {
      $('editor-result').className = 'error';
      $('editor-result').replaceChildren(shownName((e.status === 409 ? 'conflict: ' : '') + e.message, true));
    }
  }

  // ------------------------------------------------------------ startup

  async function loadAll() {
    if (live.controller) live.controller.abort();
    setStatus('loading the tree…');
    const started = performance.now();
    const bytes = new Uint8Array(await (await request('/znodes?data=false&columns=' + TREE_COLUMNS)).arrayBuffer());
    const fetched = performance.now();
    const table = fl.tableFromIPC(bytes, { useBigInt: true });
    const decoded = performance.now();
    tree.zxid = Number(schemaMetadata(table, 'zkarrow.zxid') || 0);
    live.zxid = tree.zxid;
    const indexing = loadTree(table);
    const indexed = performance.now();
    view.dirty = true;
    applyFilter();
    renderTree();
    updateCounts();
    const ms = Math.round(performance.now() - started);
    // Where the first paint goes (bench/webui_bench.mjs reports it).
    document.body.dataset.phases = JSON.stringify({
      fetch: Math.round(fetched - started), decode: Math.round(decoded - fetched),
      index: Math.round(indexed - decoded), draw: Math.round(performance.now() - indexed),
      index_steps: indexing });
    document.body.dataset.treeMs = ms;
    // Since navigation started: what bench/webui_bench.mjs reports as first paint.
    document.body.dataset.readyAt = Math.round(performance.now());
    document.body.dataset.ready = 'true';
    setStatus('');
    markLive();
    $('status').title = 'tree loaded in ' + ms + ' ms';
    follow(tree.zxid);
    loadWriteMode();
  }

  function showTab(name) {
    for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === name);
    for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== 'tab-' + name;
    if (name === 'datasets') loadDatasets();
    if (name === 'sizes') drawTreemap();
    if (name === 'tree') scheduleRender();
  }

  function wire() {
    $('tabs').addEventListener('click', (e) => { if (e.target.dataset.tab) showTab(e.target.dataset.tab); });
    $('tree-scroll').addEventListener('scroll', scheduleRender, { passive: true });
    window.addEventListener('resize', scheduleRender);
    $('tree-scroll').addEventListener('click', (e) => {
      const row = e.target.closest('.row');
      if (!row) return;
      const id = Number(row.dataset.id);
      if (e.target.classList.contains('toggle')) toggle(id);
      else selectPath(tree.path[id]);
    });
    $('tree-scroll').addEventListener('dblclick', (e) => {
      const row = e.target.closest('.row');
      if (row) toggle(Number(row.dataset.id));
    });
    let filterTimer = 0;
    $('filter').addEventListener('input', () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => { applyFilter(); $('tree-scroll').scrollTop = 0; scheduleRender(); }, 200);
    });
    for (const b of document.querySelectorAll('.views button')) {
      b.addEventListener('click', () => {
        node.view = b.dataset.view;
        for (const o of document.querySelectorAll('.views button')) o.classList.toggle('active', o === b);
        renderData();
      });
    }
    $('pause').addEventListener('click', () => {
      live.paused = !live.paused;
      $('live').classList.toggle('paused', live.paused);
      $('pause').textContent = live.paused ? 'Resume (0 queued)' : 'Pause';
      if (!live.paused) {
        if (live.reloadOnResume) { live.reloadOnResume = false; reload(); }
        else { const rows = live.queue; live.queue = []; applyRows(rows); }
      }
    });
    $('run').addEventListener('click', () => runQuery(false));
    $('explain').addEventListener('click', () => runQuery(true));
    $('sql').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) runQuery(false); });
    $('download-arrow').addEventListener('click', () => {
      download('query.arrow', new Blob([fl.tableToIPC(result.table, { format: 'file' })],
                                       { type: 'application/vnd.apache.arrow.file' }));
    });
    $('download-csv').addEventListener('click', () => download('query.csv', new Blob([csvOf(result.table)], { type: 'text/csv' })));
    $('coord-root').addEventListener('change', loadDatasets);
    // A znode's link in a table (query results, the group's servers and
    // catalog) shows it in the tree.
    document.addEventListener('click', (e) => {
      const link = e.target.closest('a.znode');
      if (!link) return;
      e.preventDefault();
      showTab('tree');
      selectPath(link.dataset.path);
      const id = idOf(link.dataset.path);
      if (id !== undefined) reveal(id);
    });
    $('treemap').addEventListener('click', (e) => {
      const canvas = $('treemap');
      const box = canvas.getBoundingClientRect();
      const x = (e.clientX - box.left) * canvas.width / box.width, y = (e.clientY - box.top) * canvas.height / box.height;
      const hit = treemap.rects.find((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h);
      if (hit && hit.id !== treemap.focus) { treemap.focus = hit.id; drawTreemap(); }
    });
    $('treemap-up').addEventListener('click', () => {
      const p = tree.parent[treemap.focus];
      if (p >= 0) { treemap.focus = p; drawTreemap(); }
    });
    $('edit-set').addEventListener('click', () => openEditor('set'));
    $('edit-create').addEventListener('click', () => openEditor('create'));
    $('edit-delete').addEventListener('click', () => openEditor('delete'));
    $('editor-cancel').addEventListener('click', () => { $('editor').hidden = true; });
    $('editor-apply').addEventListener('click', applyEdit);
    // A copied selection holds the real characters of its tokens and not
    // the names' markers, so that a name copied off the page finds its node
    // (filter, SQL, zkCli). Its text is otherwise what the browser's own
    // copy gives: the innerText of a copy of the selection (a table's cells
    // apart by tabs and its rows by line breaks, hidden rows left out), in
    // its parent's kind of element, the tokens' characters kept as they are
    // (also spaces), laid out off screen for the moment of the copy.
    document.addEventListener('copy', (e) => {
      const selection = document.getSelection();
      if (!selection || !selection.rangeCount) return;
      const copies = [];
      for (let i = 0; i < selection.rangeCount; ++i) {
        const range = selection.getRangeAt(i);
        let within = range.commonAncestorContainer;
        if (within.nodeType !== Node.ELEMENT_NODE) within = within.parentNode;
        const copy = within === document.body || within === document.documentElement
          ? document.createElement('div') : within.cloneNode(false);
        copy.removeAttribute('id');
        copy.append(range.cloneContents());
        copies.push(copy);
      }
      const tokens = copies.flatMap((copy) => [...copy.querySelectorAll('[data-char]')]);
      if (!tokens.length) return;
      for (const token of tokens) {
        const char = document.createElement('span');
        char.className = 'copied-char';
        char.textContent = token.dataset.char;
        token.replaceWith(char);
      }
      const buffer = document.createElement('div');
      buffer.className = 'copy-buffer';
      document.body.append(buffer);
      const text = copies.map((copy) => { buffer.replaceChildren(copy); return buffer.innerText; }).join('\n');
      buffer.remove();
      e.clipboardData.setData('text/plain', text);
      e.preventDefault();
    });
    $('login').addEventListener('submit', (e) => {
      e.preventDefault();
      token = $('token').value;
      sessionStorage.setItem('zkarrow-token', token);
      $('login').hidden = true;
      document.querySelector('main').hidden = false;
      start();
    });
  }

  async function start() {
    try {
      // /healthz needs the token too: it tells whether this one works.
      const probe = await fetch('/healthz', { headers: headers(), cache: 'no-store' });
      if (probe.status === 401) { askToken(token ? 'the server refused the token' : ''); return; }
      await loadAll();
    } catch (e) {
      if (e.status !== 401) reloadLater(e.message);
    }
  }

  wire();
  start();
})();
