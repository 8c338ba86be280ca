import assert from "node:assert/strict";
import { findJsonProblem } from "./json_scan.ts";

const none = new Set<string>();
const ints = new Set(["shape", "data_offsets"]);

Deno.test("json_scan: finds duplicate keys at any depth, spelled alike or escaped", () => {
  assert.equal(findJsonProblem('{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}', none), undefined);
  assert.equal(findJsonProblem('{"a":1, "a" :2}', none), 'duplicate key "a"');
  assert.equal(findJsonProblem('{"a":1,"\\u0061":2}', none), 'duplicate key "a"');
  assert.equal(findJsonProblem('{"t":{"dtype":"F32","dtype":"F16"}}', none), 'duplicate key "dtype" in "t"');
  assert.equal(findJsonProblem('{"t":[{"x":1,"x":1}]}', none), 'duplicate key "x" in "t" › []');
  // Strings that look like keys or structure inside values are not keys.
  assert.equal(findJsonProblem('{"a":"\\"a\\":{[","b":"a","c":["a","a"]}', none), undefined);
  assert.equal(findJsonProblem('  {"a\\\\":1,"a":2}  ', none), undefined);
});

Deno.test("json_scan: numbers in integer arrays must be plain unsigned integers", () => {
  assert.equal(findJsonProblem('{"t":{"shape":[2,3],"data_offsets":[0,24],"x":1.5}}', ints), undefined);
  assert.equal(
    findJsonProblem('{"t":{"shape":[2.0]}}', ints),
    '2.0 in "shape" of "t" is not written as an unsigned integer',
  );
  assert.equal(
    findJsonProblem('{"t":{"data_offsets":[0,4e0]}}', ints),
    '4e0 in "data_offsets" of "t" is not written as an unsigned integer',
  );
  assert.equal(
    findJsonProblem('{"t":{"data_offsets":[-0,4]}}', ints),
    '-0 in "data_offsets" of "t" is not written as an unsigned integer',
  );
  assert.equal(findJsonProblem('{"t":{"shape":[[1.5]]}}', ints), undefined); // nested: left to the shape check
});
