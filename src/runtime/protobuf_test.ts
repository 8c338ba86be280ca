import { deepStrictEqual } from "node:assert/strict";
import { ProtoWriter } from "./protobuf.ts";

Deno.test("protobuf: varints, negative ints, strings, nested and packed fields", () => {
  // Known encodings from the protobuf documentation: field 1 = 150 → 08 96 01.
  deepStrictEqual([...new ProtoWriter().int(1, 150).finish()], [0x08, 0x96, 0x01]);
  // Field 2 = "testing" → 12 07 74 65 73 74 69 6e 67.
  deepStrictEqual([...new ProtoWriter().string(2, "testing").finish()], [
    0x12,
    0x07,
    0x74,
    0x65,
    0x73,
    0x74,
    0x69,
    0x6e,
    0x67,
  ]);
  // Nested message field 3 holding field 1 = 150 → 1a 03 08 96 01.
  deepStrictEqual([...new ProtoWriter().message(3, new ProtoWriter().int(1, 150)).finish()], [
    0x1a,
    0x03,
    0x08,
    0x96,
    0x01,
  ]);
  // Packed repeated field 4 = [3, 270, 86942] → 22 06 03 8e 02 9e a7 05.
  deepStrictEqual([...new ProtoWriter().ints(4, [3, 270, 86942]).finish()], [
    0x22,
    0x06,
    0x03,
    0x8e,
    0x02,
    0x9e,
    0xa7,
    0x05,
  ]);
  // -1 as int64 takes ten bytes.
  deepStrictEqual([...new ProtoWriter().int(1, -1).finish()], [0x08, ...Array(9).fill(0xff), 0x01]);
  // Large values beyond 2^31.
  deepStrictEqual([...new ProtoWriter().int(1, 2 ** 32).finish()], [0x08, 0x80, 0x80, 0x80, 0x80, 0x10]);
  // Float 1.0 as fixed32 → 0d 00 00 80 3f.
  deepStrictEqual([...new ProtoWriter().float(1, 1).finish()], [0x0d, 0x00, 0x00, 0x80, 0x3f]);
});
