// The canonical value form every reader's dump uses, so that dumps made by
// different Arrow implementations compare as JSON:
//   64-bit integers (and every 64-bit temporal value) -> decimal strings
//   binary -> lowercase hex; decimals -> the unscaled integer as a string
//   floats -> numbers, NaN/Infinity/-Infinity as strings
//   dates -> days (date[day]) or a millisecond string (date[ms])
//   timestamps, times, durations -> integers of their own unit
//   lists -> arrays; structs -> objects; dictionaries -> the decoded value
// A dump is JSON lines: {"fields":[{"name","type"}...]} then one array of
// column values per row. Polars departs where it converts types on read
// (see readers/polars.mjs), so its dumps compare fully only with its own.

export function hex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function float(value) {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

export function int64(value) {
  return String(value);
}

// Prints a dump; every BigInt must already be a string (int64 above).
export function printDump({ fields, rows }, out = process.stdout) {
  const lines = [JSON.stringify({ fields })];
  for (const row of rows) lines.push(JSON.stringify(row));
  out.write(lines.join('\n') + '\n');
}
