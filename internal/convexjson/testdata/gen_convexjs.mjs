// Regenerates the golden files of TestEncode_JavaScriptGolden from Convex's
// own npm package:
//
//	npm install convex@1.48.0 && node gen_convexjs.mjs
//
// convexjs_floats.txt: "<float64 bits in hex> <JSON.stringify(convexToJson(x))>"
// convexjs_values.txt: one Convex-JSON text per line, each the canonical
// encoding of a value (decoding and re-encoding must give it back).
import { writeFileSync } from "node:fs";
import { convexToJson } from "convex/values";

// Deterministic xorshift64* so the files only change when the list does.
let state = 0x9e3779b97f4a7c15n;
const mask = (1n << 64n) - 1n;
function next() {
  state ^= state >> 12n;
  state ^= (state << 25n) & mask;
  state ^= state >> 27n;
  return (state * 0x2545f4914f6cdd1dn) & mask;
}
const view = new DataView(new ArrayBuffer(8));
const fromBits = (b) => { view.setBigUint64(0, b); return view.getFloat64(0); };
const toBits = (f) => { view.setFloat64(0, f); return view.getBigUint64(0); };

const floats = [
  0, 1, -1, 0.1, 0.2, 0.3, 1 / 3, 100, 1e15, 1e16, 1e17, 1e20, 1e21, 1e22, 123456789012345680000,
  1e-5, 1e-6, 1e-7, 1.5e-7, 9.99e-7, 0.000001, 0.0000015, 5e-324, 2.2250738585072014e-308,
  1.7976931348623157e308, -1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 1699931054642.111,
];
for (let e = -30; e <= 30; e++) floats.push(10 ** e, 1.25 * 10 ** e, -3.7 * 10 ** e);
for (let i = 0; i < 1500; i++) floats.push(fromBits(next())); // any bit pattern
for (let i = 0; i < 1500; i++) floats.push(Number(next() % 100000000n) / 10 ** Number(next() % 12n));
const lines = [];
for (const f of floats) {
  if (!Number.isFinite(f)) continue;
  lines.push(`${toBits(f).toString(16).padStart(16, "0")} ${JSON.stringify(convexToJson(f))}`);
}
for (const f of [-0, NaN, Infinity, -Infinity]) {
  lines.push(`${toBits(f).toString(16).padStart(16, "0")} ${JSON.stringify(convexToJson(f))}`);
}
writeFileSync("convexjs_floats.txt", lines.join("\n") + "\n");

const values = [
  null, true, false, "", "hello", "a\u0000\u0001\u0008\t\n\u000b\u000c\r\u001f\u007f\"\\/é😀\u2028\uffff",
  1n, -1n, 0n, 2n ** 63n - 1n, -(2n ** 63n), 123456789n,
  new ArrayBuffer(0), new Uint8Array([1, 2, 3]).buffer, new Uint8Array([0, 16, 131, 255, 254]).buffer,
  [], [null, [[]], {}], { b: 1, a: [1n, 2.5], "": "empty key", _id: "j57000820c20a1g7104gm2rc1m70ynr8" },
  { z: { y: { x: [NaN, -0, Infinity, -Infinity, 0] } }, "a-b c": new Uint8Array([7]).buffer },
];
writeFileSync("convexjs_values.txt", values.map((v) => JSON.stringify(convexToJson(v))).join("\n") + "\n");
