'use strict';
// Parses PostgreSQL text read from stdin with libpg_query (PostgreSQL's own parser, compiled to
// WebAssembly by the libpg-query npm package; its libpg-query.js and .wasm sit beside this file).
// Writes one JSON object to stdout: {"tree": <libpg_query parse tree>} or
// {"error": {"message", "cursor"}} (cursor: 1-based byte offset into the UTF-8 text, 0 if none).
// Run by LlmTasks' Sql check as `node pg-parse.cjs` with no shell; the SQL never is an argument.
const path = require('path');
const factory = require(path.join(__dirname, 'libpg-query.js'));

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', c => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}

(async () => {
  const bytes = await readStdin();
  const wasm = await (factory.default || factory)();
  const ptr = wasm._malloc(bytes.length + 1);
  wasm.HEAPU8.set(bytes, ptr);
  wasm.HEAPU8[ptr + bytes.length] = 0;
  let result = 0;
  try {
    result = wasm._wasm_parse_query_raw(ptr);
    if (!result) throw new Error('libpg_query returned no result');
    const tree = wasm.getValue(result, 'i32');
    const error = wasm.getValue(result + 8, 'i32');
    let out;
    if (error) {
      const message = wasm.getValue(error, 'i32');
      out = { error: { message: message ? wasm.UTF8ToString(message) : 'unknown error', cursor: wasm.getValue(error + 16, 'i32') } };
    } else {
      out = { tree: JSON.parse(wasm.UTF8ToString(tree)) };
    }
    process.stdout.write(JSON.stringify(out));
  } finally {
    wasm._free(ptr);
    if (result) wasm._wasm_free_parse_result(result);
  }
})().catch(e => {
  process.stderr.write(String(e && e.stack || e));
  process.exit(2);
});
