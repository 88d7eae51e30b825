// Dumps an Arrow IPC file or stream as read by Polars (nodejs-polars).
// Polars converts on read (timestamp[s] becomes Datetime(ms), times become
// ns, dictionaries of strings become Categorical, large and small offsets
// merge), so its dump compares with other Polars dumps, and with other
// readers only for the types where the two agree (the znode table's).
// Values are cast inside Polars to exact forms before reaching JS: 64-bit
// integers and temporal values to strings of their integer, categoricals to
// strings. nodejs-polars cannot hand a Binary dtype (nor its values) to JS,
// so a column whose dtype it refuses is treated as Binary and cast to
// List(UInt8).
import pl from 'nodejs-polars';
import { float, hex, int64 } from '../canonical.mjs';

const INT64_LIKE = new Set(['Int64', 'UInt64']);
const TEMPORAL_64 = new Set(['Datetime', 'Time', 'Duration']);

function dtypeOf(df, name) {
  try {
    return df.select(name).dtypes[0];
  } catch (error) {
    if (/Binary is not supported/.test(String(error))) return { variant: 'Binary' };
    throw error;
  }
}

function typeName(dtype) {
  return dtype.variant === 'Binary' ? 'Binary' : JSON.stringify(dtype);
}

// An expression bringing column `name` of `dtype` to an exact JS-friendly form.
function exactColumn(name, dtype) {
  const column = pl.col(name);
  if (dtype.variant === 'Binary') return column.cast(pl.List(pl.UInt8));
  if (INT64_LIKE.has(dtype.variant)) return column.cast(pl.Utf8);
  if (TEMPORAL_64.has(dtype.variant)) return column.cast(pl.Int64).cast(pl.Utf8);
  if (dtype.variant === 'Date') return column.cast(pl.Int32);
  if (dtype.variant === 'Categorical' || dtype.variant === 'Enum') return column.cast(pl.Utf8);
  return column;
}

// Canonical form of a JS value Polars produced for `dtype` (after exactColumn).
function canonical(value, dtype) {
  if (value === null || value === undefined) return null;
  switch (dtype.variant) {
    case 'Binary': return hex(Uint8Array.from(value));
    case 'Float32': case 'Float64': return float(value);
    case 'List': case 'FixedSizeList': case 'Array': {
      const inner = dtype.inner[0];
      return Array.from(value, (item) => canonicalNested(item, inner));
    }
    case 'Struct': {
      const out = {};
      for (const field of dtype.fields) out[field.name] = canonicalNested(value[field.name], field.dtype);
      return out;
    }
    default: return value;
  }
}

// Inside lists and structs no cast applies: 64-bit values arrive as bigint or
// number, datetimes as Date.
function canonicalNested(value, dtype) {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return String(value.getTime());
  if (INT64_LIKE.has(dtype.variant)) return int64(value);
  return canonical(value, dtype);
}

export function dump(bytes) {
  // Both formats start differently: a file with the "ARROW1" magic.
  const isFile = bytes.subarray(0, 6).toString('latin1') === 'ARROW1';
  const df = isFile ? pl.readIPC(bytes) : pl.readIPCStream(bytes);
  const dtypes = df.columns.map((name) => dtypeOf(df, name));
  const fields = df.columns.map((name, k) => ({ name, type: typeName(dtypes[k]) }));
  const exact = df.select(...df.columns.map((name, k) => exactColumn(name, dtypes[k])));
  const columns = df.columns.map((name, k) =>
    exact.getColumn(name).toArray().map((value) => canonical(value, dtypes[k])));
  const rows = [];
  for (let i = 0; i < df.height; ++i) rows.push(columns.map((column) => column[i]));
  return { fields, rows };
}
