// A client subscribes with onUpdate; another runs mutations; the first
// sees every state in order, with Int64 as bigint and bytes as ArrayBuffer.
// ConvexHttpClient reads the same data over HTTP.
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { api, url, quiet, eq, check, show, Updates, main } from "./lib.mjs";

main(async () => {
  const watcher = new ConvexClient(url, quiet);
  const writer = new ConvexClient(url, quiet);
  const seen = new Updates();
  watcher.onUpdate(api.tasks.list, {}, (v) => seen.push(v), (e) => seen.fail(e));
  await seen.until((v) => Array.isArray(v) && v.length === 0, "the empty list");

  const id1 = await writer.mutation(api.tasks.add, { text: "one", n: 1n });
  check(typeof id1 === "string" && id1.length > 0, "tasks:add returns an ID");
  const id2 = await writer.mutation(api.tasks.add, { text: "two", n: 9007199254740993n, blob: new Uint8Array([1, 2, 255]).buffer });
  await writer.mutation(api.tasks.add, { text: "three" });

  const last = await seen.until((v) => v.length === 3, "three tasks");
  // The states arrive in order: lengths never go down.
  const lengths = seen.values.map((v) => v.length);
  for (let i = 1; i < lengths.length; i++) {
    check(lengths[i] >= lengths[i - 1], "updates in commit order: " + show(lengths));
  }
  eq(last.map((d) => d.text), ["one", "two", "three"], "texts");
  eq(last[0]._id, id1, "the first task's _id");
  eq(last[1]._id, id2, "the second task's _id");
  eq(typeof last[0].n, "bigint", "an Int64 arrives as a bigint");
  eq(last[0].n, 1n, "Int64 1");
  eq(last[1].n, 9007199254740993n, "an Int64 past 2^53 keeps every digit");
  check(last[1].blob instanceof ArrayBuffer, "bytes arrive as an ArrayBuffer: " + show(last[1].blob));
  eq(Array.from(new Uint8Array(last[1].blob)), [1, 2, 255], "the bytes");
  eq(typeof last[0]._creationTime, "number", "_creationTime is a number");

  // A mutation's promise resolves once the writer's own queries show it.
  const mine = new Updates();
  writer.onUpdate(api.tasks.count, {}, (v) => mine.push(v), (e) => mine.fail(e));
  await mine.until((v) => v === 3, "count 3 at the writer");
  await writer.mutation(api.tasks.add, { text: "four" });
  eq(writer.client.localQueryResult("tasks:count", {}), 4, "the writer's count right after its mutation resolved");

  // One-shot calls over HTTP.
  const http = new ConvexHttpClient(url, quiet);
  const viaHTTP = await http.query(api.tasks.list, {});
  eq(viaHTTP.length, 4, "tasks over HTTP");
  eq(viaHTTP[1].n, 9007199254740993n, "Int64 over HTTP");
  await http.mutation(api.tasks.add, { text: "five" });
  await seen.until((v) => v.length === 5, "the HTTP mutation at the watcher");
  const one = await watcher.query(api.tasks.count, {});
  eq(one, 5, "a one-shot query over the WebSocket");

  await watcher.close();
  await writer.close();
});
