// What the server refuses reaches the client as an error of that one
// call, and the client goes on: internal and unknown functions, arguments
// of the wrong type, a failing query, a query called as a mutation.
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { api, url, quiet, check, eq, rejects, Updates, main } from "./lib.mjs";

const notFound = (path) => `Could not find public function for '${path}'`;

main(async () => {
  const client = new ConvexClient(url, quiet);
  const http = new ConvexHttpClient(url, quiet);

  let msg = await rejects(client.mutation(api.tasks.secret, {}), "an internal mutation over the WebSocket");
  check(msg.includes(notFound("tasks:secret")), "internal over the WebSocket: " + msg);
  msg = await rejects(http.mutation(api.tasks.secret, {}), "an internal mutation over HTTP");
  check(msg.includes(notFound("tasks:secret")), "internal over HTTP: " + msg);
  msg = await rejects(client.query(api.tasks.nope, {}), "an unknown query");
  check(msg.includes(notFound("tasks:nope")), "unknown query: " + msg);
  msg = await rejects(client.mutation(api.tasks.add, { text: 5 }), "a number where a string belongs");
  check(msg.includes("ArgumentValidationError") && msg.includes(".text"), "wrong argument type: " + msg);
  msg = await rejects(client.mutation(api.tasks.add, { text: "x", n: 1.5 }), "a float where an Int64 belongs");
  check(msg.includes("ArgumentValidationError") && msg.includes(".n"), "a float for an Int64: " + msg);
  msg = await rejects(client.mutation(api.tasks.count, {}), "a query called as a mutation");
  check(msg.includes("as Mutation, but it is defined as Query"), "a query as a mutation: " + msg);
  msg = await rejects(http.action(api.tasks.count, {}), "an action");
  check(msg.includes("livedb has no actions"), "an action: " + msg);

  const failing = new Updates();
  client.onUpdate(api.tasks.fail, {}, (v) => failing.push(v), (e) => failing.push({ error: e.message }));
  const f = await failing.until((v) => v.error !== undefined, "the failing query's error");
  check(f.error.includes("no luck today"), "a failing query's error: " + f.error);

  // Nothing was written, and the client still works.
  eq(await http.query(api.tasks.count, {}), 0, "no refused mutation wrote");
  await client.mutation(api.tasks.add, { text: "fine" });
  eq(await client.query(api.tasks.count, {}), 1, "the client goes on");
  await client.close();
});
