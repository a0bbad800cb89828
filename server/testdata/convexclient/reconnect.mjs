// The server restarts under a subscribed client: the client reconnects by
// itself, its subscription resumes, and a mutation after the restart
// reaches it. The script prints RESTART and waits for a line on stdin,
// which the Go test sends once the new server listens.
import { ConvexClient } from "convex/browser";
import { createInterface } from "node:readline";
import { api, url, quiet, eq, check, Updates, main } from "./lib.mjs";

const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));

main(async () => {
  const client = new ConvexClient(url, quiet);
  const counts = new Updates();
  client.onUpdate(api.tasks.count, {}, (v) => counts.push(v), (e) => counts.fail(e));
  await counts.until((v) => v === 0, "count 0");
  await client.mutation(api.tasks.add, { text: "before" });
  await counts.until((v) => v === 1, "count 1");
  const before = client.connectionState().connectionCount;

  console.log("RESTART");
  const go = nextLine();
  await go;

  // The same client, after the restart: its mutation runs once the socket
  // is back, and the subscription follows.
  await client.mutation(api.tasks.add, { text: "after" });
  await counts.until((v) => v === 2, "count 2 after the restart");
  const after = client.connectionState().connectionCount;
  check(after > before, `the client reconnected (connections ${before} -> ${after})`);
  eq(client.connectionState().isWebSocketConnected, true, "connected");
  await client.close();
});
