// The table the writers of write_with.mjs write: every common column type,
// with nulls, edge values and non-ASCII text, in two record batches.
import {
  Binary, Bool, DateDay, Dictionary, Field, Float32, Float64, Int8, Int32, Int64, List,
  makeTable, Struct, Table, TimestampMillisecond, Uint64, Utf8, vectorFromArray,
} from 'apache-arrow';

const bytes = (...values) => Uint8Array.from(values);
const DAY_MS = 86400000;

const FIRST = [
  { i8: -128, i32: 2147483647, i64: -9223372036854775808n, u64: 18446744073709551615n,
    f32: 1.5, f64: -0.1, flag: true, text: 'zookeeper', blob: bytes(0, 1, 255),
    ts_ms_utc: 1700000000123, day: 19000 * DAY_MS, ints: [1, null, 3], pair: { a: 1, b: 'x' },
    color: 'red' },
  { i8: null, i32: null, i64: null, u64: null, f32: null, f64: null, flag: null, text: null,
    blob: null, ts_ms_utc: null, day: null, ints: null, pair: null, color: null },
  { i8: 127, i32: -2147483648, i64: 9007199254740993n, u64: 0n, f32: -3.25, f64: 1e300,
    flag: false, text: '名前 ü-ñ-😀', blob: bytes(), ts_ms_utc: -86400000, day: -1 * DAY_MS,
    ints: [], pair: { a: null, b: null }, color: 'green' },
];
const SECOND = [
  { i8: 0, i32: 0, i64: 0n, u64: 9223372036854775808n, f32: 0, f64: 2.5e-308, flag: true,
    text: '', blob: bytes(0x80, 0x7f), ts_ms_utc: 0, day: 0, ints: [2147483647],
    pair: { a: -7, b: 'line\nbreak' }, color: 'red' },
];

const TYPES = {
  i8: new Int8(),
  i32: new Int32(),
  i64: new Int64(),
  u64: new Uint64(),
  f32: new Float32(),
  f64: new Float64(),
  flag: new Bool(),
  text: new Utf8(),
  blob: new Binary(),
  ts_ms_utc: new TimestampMillisecond('UTC'),
  day: new DateDay(),
  ints: new List(new Field('item', new Int32(), true)),
  pair: new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)]),
  color: new Dictionary(new Utf8(), new Int32()),
};

// Built as one batch, then cut in two: both batches share one dictionary,
// which the file format requires (no replacement dictionaries).
export function fixedTable() {
  const rows = [...FIRST, ...SECOND];
  const columns = {};
  for (const [name, type] of Object.entries(TYPES)) {
    columns[name] = vectorFromArray(rows.map((row) => row[name]), type);
  }
  const [whole] = makeTable(columns).batches;
  return new Table([whole.slice(0, FIRST.length), whole.slice(FIRST.length)]);
}
