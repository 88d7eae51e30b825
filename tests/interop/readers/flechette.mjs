// Dumps an Arrow IPC file or stream as read by flechette (@uwdata/flechette).
// Its extraction options keep 64-bit integers, timestamps and decimals exact
// (BigInt); leaf values come from its batches' at(), nesting is walked here
// so that nulls inside lists stay visible.
import {
  CompressionType, DateUnit, setCompressionCodec, tableFromIPC, TimeUnit, Type,
} from '@uwdata/flechette';
import { float, hex, int64 } from '../canonical.mjs';
import { lz4, zstd } from '../codecs.mjs';

setCompressionCodec(CompressionType.LZ4_FRAME, lz4);
setCompressionCodec(CompressionType.ZSTD, zstd);

const OPTIONS = { useBigInt: true, useBigIntTimestamp: true, useDecimalInt: true };
const UNITS = { [TimeUnit.SECOND]: 's', [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us', [TimeUnit.NANOSECOND]: 'ns' };
const MS_PER_DAY = 86400000;

export function typeName(type) {
  switch (type.typeId) {
    case Type.Null: return 'null';
    case Type.Bool: return 'bool';
    case Type.Int: return `${type.signed ? 'int' : 'uint'}${type.bitWidth}`;
    case Type.Float: return `float${[16, 32, 64][type.precision]}`;
    case Type.Utf8: return 'utf8';
    case Type.LargeUtf8: return 'large_utf8';
    case Type.Binary: return 'binary';
    case Type.LargeBinary: return 'large_binary';
    case Type.FixedSizeBinary: return `fixed_size_binary[${type.stride}]`;
    case Type.Date: return type.unit === DateUnit.DAY ? 'date[day]' : 'date[ms]';
    case Type.Time: return `time[${UNITS[type.unit]}]`;
    case Type.Timestamp:
      return `timestamp[${UNITS[type.unit]}${type.timezone ? ',' + type.timezone : ''}]`;
    case Type.Duration: return `duration[${UNITS[type.unit]}]`;
    case Type.Decimal:
      return `decimal(${type.precision},${type.scale}${type.bitWidth < 128 ? `,${type.bitWidth}` : ''})`;
    case Type.Utf8View: return 'utf8_view';
    case Type.BinaryView: return 'binary_view';
    case Type.ListView: return `list_view<${typeName(type.children[0].type)}>`;
    case Type.LargeListView: return `large_list_view<${typeName(type.children[0].type)}>`;
    case Type.RunEndEncoded:
      return `run_end_encoded<${typeName(type.children[0].type)},${typeName(type.children[1].type)}>`;
    case Type.List: return `list<${typeName(type.children[0].type)}>`;
    case Type.LargeList: return `large_list<${typeName(type.children[0].type)}>`;
    case Type.FixedSizeList:
      return `fixed_size_list[${type.stride}]<${typeName(type.children[0].type)}>`;
    case Type.Struct:
      return `struct<${type.children.map((f) => `${f.name}:${typeName(f.type)}`).join(',')}>`;
    case Type.Dictionary:
      return `dictionary<${typeName(type.indices)},${typeName(type.dictionary)}>`;
    default: throw new Error(`flechette dump: unsupported type id ${type.typeId}`);
  }
}

// As Batch.at() decides: isValid() alone reads the bitmap even when the
// null count is 0 (a writer may leave the bits of a non-nullable column unset).
function isNull(batch, i) {
  if (batch.type.typeId === Type.RunEndEncoded) return false;  // its values say
  return batch.type.typeId === Type.Null ||
    (batch.nullCount > 0 && batch.validity && !batch.isValid(i));
}

// The canonical value of element i of a flechette batch.
function valueAt(batch, i) {
  const { type } = batch;
  if (isNull(batch, i)) return null;
  switch (type.typeId) {
    case Type.Bool: case Type.Utf8: case Type.LargeUtf8: case Type.Utf8View:
      return batch.at(i);
    case Type.BinaryView: return hex(batch.at(i));
    case Type.ListView: case Type.LargeListView: {
      const out = [];
      const start = Number(batch.offsets[i]);
      for (let j = start; j < start + Number(batch.sizes[i]); ++j) {
        out.push(valueAt(batch.children[0], j));
      }
      return out;
    }
    case Type.RunEndEncoded: {
      // The run holding i: the first whose end is past i.
      const runs = batch.children[0].values;
      let run = 0;
      while (Number(runs[run]) <= i) ++run;
      return valueAt(batch.children[1], run);
    }
    case Type.Int: case Type.Time:
      return type.bitWidth === 64 ? int64(batch.at(i)) : batch.at(i);
    case Type.Float: return float(batch.at(i));
    case Type.Binary: case Type.LargeBinary: case Type.FixedSizeBinary:
      return hex(batch.at(i));
    case Type.Date: {
      // flechette turns both date units into epoch milliseconds.
      const ms = batch.at(i);
      return type.unit === DateUnit.DAY ? ms / MS_PER_DAY : int64(ms);
    }
    case Type.Timestamp: case Type.Duration: case Type.Decimal:
      return int64(batch.at(i));
    case Type.List: case Type.LargeList: {
      const out = [];
      for (let j = Number(batch.offsets[i]); j < Number(batch.offsets[i + 1]); ++j) {
        out.push(valueAt(batch.children[0], j));
      }
      return out;
    }
    case Type.FixedSizeList: {
      const out = [];
      for (let j = i * type.stride; j < (i + 1) * type.stride; ++j) {
        out.push(valueAt(batch.children[0], j));
      }
      return out;
    }
    case Type.Struct: {
      const out = {};
      type.children.forEach((field, k) => { out[field.name] = valueAt(batch.children[k], i); });
      return out;
    }
    case Type.Dictionary: return columnValueAt(batch.dictionary, batch.key(i));
    default: throw new Error(`flechette dump: unsupported type id ${type.typeId}`);
  }
}

function columnValueAt(column, index) {
  let i = index;
  for (const batch of column.data) {
    if (i < batch.length) return valueAt(batch, i);
    i -= batch.length;
  }
  throw new Error(`flechette dump: index ${index} beyond a column of ${column.length}`);
}

export function dump(bytes) {
  const table = tableFromIPC(bytes, OPTIONS);
  const fields = table.schema.fields.map((f) => ({ name: f.name, type: typeName(f.type) }));
  const columns = table.children;
  const rows = [];
  for (let i = 0; i < table.numRows; ++i) rows.push(columns.map((c) => columnValueAt(c, i)));
  return { fields, rows };
}
