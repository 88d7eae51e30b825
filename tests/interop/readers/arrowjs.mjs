// Dumps an Arrow IPC file or stream as read by Arrow JS (apache-arrow).
// Values come from the arrays Arrow JS decoded; temporal and decimal values
// are taken from its value buffers, because its getters turn them into
// (lossy) millisecond floats and BigNum objects.
import {
  CompressionType, compressionRegistry, DateUnit, tableFromIPC, TimeUnit, Type,
} from 'apache-arrow';
import { float, hex, int64 } from '../canonical.mjs';
import { lz4, zstd } from '../codecs.mjs';

compressionRegistry.set(CompressionType.LZ4_FRAME, lz4);
compressionRegistry.set(CompressionType.ZSTD, zstd);

const UNITS = { [TimeUnit.SECOND]: 's', [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us', [TimeUnit.NANOSECOND]: 'ns' };

export function typeName(type) {
  switch (type.typeId) {
    case Type.Null: return 'null';
    case Type.Bool: return 'bool';
    case Type.Int: return `${type.isSigned ? 'int' : 'uint'}${type.bitWidth}`;
    case Type.Float: return `float${[16, 32, 64][type.precision]}`;
    case Type.Utf8: return 'utf8';
    case Type.Utf8View: return 'utf8_view';
    case Type.BinaryView: return 'binary_view';
    case Type.LargeUtf8: return 'large_utf8';
    case Type.Binary: return 'binary';
    case Type.LargeBinary: return 'large_binary';
    case Type.FixedSizeBinary: return `fixed_size_binary[${type.byteWidth}]`;
    case Type.Date: return type.unit === DateUnit.DAY ? 'date[day]' : 'date[ms]';
    case Type.Time: return `time[${UNITS[type.unit]}]`;
    case Type.Timestamp:
      return `timestamp[${UNITS[type.unit]}${type.timezone ? ',' + type.timezone : ''}]`;
    case Type.Duration: return `duration[${UNITS[type.unit]}]`;
    case Type.Decimal: return `decimal(${type.precision},${type.scale})`;
    case Type.List: return `list<${typeName(type.children[0].type)}>`;
    case Type.LargeList: return `large_list<${typeName(type.children[0].type)}>`;
    case Type.FixedSizeList:
      return `fixed_size_list[${type.listSize}]<${typeName(type.children[0].type)}>`;
    case Type.Struct:
      return `struct<${type.children.map((f) => `${f.name}:${typeName(f.type)}`).join(',')}>`;
    case Type.Dictionary:
      return `dictionary<${typeName(type.indices)},${typeName(type.dictionary)}>`;
    default: throw new Error(`arrowjs dump: unsupported type ${type}`);
  }
}

// Two's-complement little-endian 32-bit words -> BigInt.
function wordsToBigInt(words) {
  let value = 0n;
  for (let w = words.length - 1; w >= 0; --w) value = (value << 32n) | BigInt(words[w] >>> 0);
  const bits = BigInt(words.length * 32);
  return value >= 1n << (bits - 1n) ? value - (1n << bits) : value;
}

const decoder = new TextDecoder();

// The bytes of element i of a Utf8View/BinaryView Data, from its 16-byte
// view: inline (up to 12 bytes) or in one of its variadic buffers.
function viewBytes(data, i) {
  const views = new Uint8Array(data.values.buffer, data.values.byteOffset, data.values.byteLength);
  const view = new DataView(views.buffer, views.byteOffset + i * 16, 16);
  const length = view.getInt32(0, true);
  if (length <= 12) return views.subarray(i * 16 + 4, i * 16 + 4 + length);
  const buffer = data.variadicBuffers[view.getInt32(8, true)];
  const offset = view.getInt32(12, true);
  return buffer.subarray(offset, offset + length);
}

// The canonical value of element i of `data` (an Arrow JS Data).
function valueAt(data, i) {
  const { type } = data;
  if (type.typeId === Type.Null || !data.getValid(i)) return null;
  switch (type.typeId) {
    case Type.Bool: {
      const bit = data.offset + i;
      return ((data.values[bit >> 3] >> (bit & 7)) & 1) === 1;
    }
    case Type.Int:
      return type.bitWidth === 64 ? int64(data.values[i]) : data.values[i];
    case Type.Float: {
      // Float16 values are stored as raw uint16; none of our cases use them.
      if (type.precision === 0) throw new Error('arrowjs dump: float16 unsupported');
      return float(data.values[i]);
    }
    case Type.Utf8: case Type.LargeUtf8:
      return decoder.decode(data.values.subarray(Number(data.valueOffsets[i]),
        Number(data.valueOffsets[i + 1])));
    case Type.Utf8View: return decoder.decode(viewBytes(data, i));
    case Type.BinaryView: return hex(viewBytes(data, i));
    case Type.Binary: case Type.LargeBinary:
      return hex(data.values.subarray(Number(data.valueOffsets[i]),
        Number(data.valueOffsets[i + 1])));
    case Type.FixedSizeBinary:
      return hex(data.values.subarray(i * type.byteWidth, (i + 1) * type.byteWidth));
    case Type.Date:
      // date[day] is int32 days; date[ms] is int64 milliseconds.
      return type.unit === DateUnit.DAY ? data.values[i] : int64(data.values[i]);
    case Type.Time:
      return type.bitWidth === 64 ? int64(data.values[i]) : data.values[i];
    case Type.Timestamp: case Type.Duration:
      return int64(data.values[i]);
    case Type.Decimal: {
      const stride = type.bitWidth / 32;
      return String(wordsToBigInt(data.values.subarray(i * stride, (i + 1) * stride)));
    }
    case Type.List: case Type.LargeList: {
      const child = data.children[0];
      const out = [];
      for (let j = Number(data.valueOffsets[i]); j < Number(data.valueOffsets[i + 1]); ++j) {
        out.push(valueAt(child, j));
      }
      return out;
    }
    case Type.FixedSizeList: {
      const child = data.children[0];
      const out = [];
      for (let j = i * type.listSize; j < (i + 1) * type.listSize; ++j) out.push(valueAt(child, j));
      return out;
    }
    case Type.Struct: {
      const out = {};
      type.children.forEach((field, k) => { out[field.name] = valueAt(data.children[k], i); });
      return out;
    }
    case Type.Dictionary: {
      const key = Number(data.values[i]);
      return vectorValueAt(data.dictionary, key);
    }
    default: throw new Error(`arrowjs dump: unsupported type ${type}`);
  }
}

// Element `index` of a Vector, which may span several Data chunks.
function vectorValueAt(vector, index) {
  let i = index;
  for (const chunk of vector.data) {
    if (i < chunk.length) return valueAt(chunk, i);
    i -= chunk.length;
  }
  throw new Error(`arrowjs dump: index ${index} beyond a vector of ${vector.length}`);
}

export function dump(bytes) {
  const table = tableFromIPC(bytes);
  const fields = table.schema.fields.map((f) => ({ name: f.name, type: typeName(f.type) }));
  const rows = [];
  for (const batch of table.batches) {
    for (let i = 0; i < batch.numRows; ++i) {
      rows.push(batch.data.children.map((column) => valueAt(column, i)));
    }
  }
  return { fields, rows };
}
