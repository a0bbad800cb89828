// Helpers shared by the scripts that drive a livedb server with the
// official Convex client. Each script takes the server's URL as its first
// argument, prints "OK" and exits 0 when every check passes, and prints
// the failed check on stderr and exits 1 otherwise. Lines on stdout are
// read by server/convexclient_test.go.
import { anyApi } from "convex/server";

export const api = anyApi;
export const url = process.argv[2];
if (!url) {
  console.error("usage: node <script> <server URL>");
  process.exit(2);
}

// A client option set for tests: no console noise.
export const quiet = { logger: false };

export function check(cond, what) {
  if (!cond) {
    throw new Error("check failed: " + what);
  }
}

export function eq(got, want, what) {
  const g = show(got);
  const w = show(want);
  if (g !== w) {
    throw new Error(`${what}: got ${g}, want ${w}`);
  }
}

// show prints values the way the checks compare them: bigints with an n,
// ArrayBuffers as their bytes.
export function show(x) {
  return JSON.stringify(x, (_k, v) => {
    if (typeof v === "bigint") return v.toString() + "n";
    if (v instanceof ArrayBuffer) return { ArrayBuffer: Array.from(new Uint8Array(v)) };
    return v;
  });
}

// Updates collects the values of a subscription and lets a test wait for
// one that matches. Every wait is bounded, and names what it waited for.
export class Updates {
  constructor() {
    this.values = [];
    this.errors = [];
    this.waiters = [];
  }
  push(v) {
    this.values.push(v);
    this.wake();
  }
  fail(e) {
    this.errors.push(e);
    this.wake();
  }
  wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  async until(pred, what, ms = 20000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.values.find(pred);
      if (hit !== undefined) return hit;
      if (this.errors.length > 0) {
        throw new Error(`waiting for ${what}: the subscription failed: ${this.errors[0].message}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`waiting for ${what}: nothing after ${ms} ms; values seen: ${show(this.values)}`);
      }
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

// rejects returns the message of the error that p rejects with, or throws
// when p resolves.
export async function rejects(p, what) {
  try {
    const v = await p;
    throw new Error(`${what}: resolved with ${show(v)}, want a refusal`);
  } catch (e) {
    if (e.message.startsWith(`${what}: resolved`)) throw e;
    return e.message;
  }
}

// main runs a test body, then reports and exits (the Convex client keeps
// timers that would hold the process open).
export function main(body) {
  body().then(
    () => {
      console.log("OK");
      process.exit(0);
    },
    (e) => {
      console.error(e && e.stack ? e.stack : String(e));
      process.exit(1);
    },
  );
}
