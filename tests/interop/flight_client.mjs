// Usage: node flight_client.mjs PORT list
//        node flight_client.mjs PORT get TICKET
//        node flight_client.mjs PORT put NAME
// An independent Arrow Flight client: @grpc/grpc-js with the Flight
// protocol's messages (zkarrow's flight.proto, loaded by @grpc/proto-loader)
// and Arrow JS for the IPC messages inside FlightData; nothing of zkarrow's
// code. $FLIGHT_TOKEN, when set, is sent as "authorization: Bearer TOKEN".
//   list  one JSON line per flight: {path, ticket, total_records, fields,
//         locations (the URIs of the first endpoint)}
//   get   DoGet TICKET; the FlightData (data_header, data_body) framed as an
//         IPC stream and decoded by Arrow JS; prints the canonical dump
//   put   DoPut of fixed_table.mjs's table as ["datasets", NAME]; prints
//         {"app_metadata": ...} and then the dump of the table it sent
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { Message, tableFromIPC, tableToIPC } from 'apache-arrow';
import { printDump } from './canonical.mjs';
import { dump } from './readers/arrowjs.mjs';
import { fixedTable } from './fixed_table.mjs';

const [port, command, arg] = process.argv.slice(2);
if (!port || !['list', 'get', 'put'].includes(command) || (command !== 'list' && !arg)) {
  process.stderr.write('usage: flight_client.mjs PORT list | get TICKET | put NAME\n');
  process.exit(2);
}

const protoFile = fileURLToPath(
  new URL('../../src/transport/flight/flight.proto', import.meta.url));
const definition = protoLoader.loadSync(protoFile, {
  keepCase: true, longs: String, enums: String, defaults: true,
});
const { FlightService } = grpc.loadPackageDefinition(definition).arrow.flight.protocol;
const client = new FlightService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
if (process.env.FLIGHT_TOKEN) metadata.set('authorization', `Bearer ${process.env.FLIGHT_TOKEN}`);

const CONTINUATION = 0xffffffff;
const END_OF_STREAM = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

function fail(error) {
  process.stderr.write(`flight_client.mjs: ${error.code ?? ''} ${error.message}\n`);
  process.exit(1);
}

// An encapsulated message in the stream format: continuation token, the
// metadata length (padded to 8), the metadata, padding, the body.
function frame(header, body) {
  const padded = (header.length + 7) & ~7;
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32LE(CONTINUATION, 0);
  prefix.writeInt32LE(padded, 4);
  return [prefix, header, Buffer.alloc(padded - header.length), body];
}

// The messages of an IPC stream as [metadata, body] pairs.
function splitStream(bytes) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages = [];
  let offset = 0;
  for (;;) {
    if (buffer.readUInt32LE(offset) !== CONTINUATION) throw new Error('not a stream message');
    const length = buffer.readInt32LE(offset + 4);
    if (length === 0) return messages;
    const header = buffer.subarray(offset + 8, offset + 8 + length);
    const bodyLength = Number(Message.decode(header).bodyLength);
    const bodyStart = offset + 8 + length;
    messages.push([header, buffer.subarray(bodyStart, bodyStart + bodyLength)]);
    offset = bodyStart + bodyLength;
  }
}

function list() {
  const call = client.ListFlights({ expression: Buffer.alloc(0) }, metadata);
  call.on('data', (info) => {
    const schema = tableFromIPC(Buffer.concat([info.schema, END_OF_STREAM])).schema;
    process.stdout.write(JSON.stringify({
      path: info.flight_descriptor.path,
      ticket: info.endpoint[0].ticket.ticket.toString(),
      total_records: info.total_records,
      fields: schema.fields.map((field) => field.name),
      locations: info.endpoint[0].location.map((location) => location.uri),
    }) + '\n');
  });
  call.on('error', fail);
}

function get(ticket) {
  const parts = [];
  const call = client.DoGet({ ticket: Buffer.from(ticket) }, metadata);
  call.on('data', (data) => parts.push(...frame(data.data_header, data.data_body)));
  call.on('error', fail);
  call.on('end', () => printDump(dump(Buffer.concat([...parts, END_OF_STREAM]))));
}

function put(name) {
  const bytes = tableToIPC(fixedTable(), 'stream');
  let result = null;
  const call = client.DoPut(metadata);
  call.on('data', (putResult) => { result = putResult; });
  call.on('error', fail);
  call.on('end', () => {
    if (result === null) fail(new Error('DoPut completed without a PutResult'));
    process.stdout.write(JSON.stringify({ app_metadata: result.app_metadata.toString() }) + '\n');
    printDump(dump(bytes));
  });
  splitStream(bytes).forEach(([header, body], i) => {
    const data = { data_header: header, data_body: body };
    if (i === 0) data.flight_descriptor = { type: 'PATH', path: ['datasets', name] };
    call.write(data);
  });
  call.end();
}

({ list, get, put })[command](arg);
