// Identity: a token from setAuth becomes the caller the functions see,
// over the WebSocket and over HTTP; a refused token is reported to the
// client's onChange; the admin key opens the raw table queries.
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { api, url, quiet, eq, check, rejects, Updates, main } from "./lib.mjs";

const adminKey = process.argv[3];

main(async () => {
  const alice = new ConvexClient(url, quiet);
  const authState = new Updates();
  alice.setAuth(async () => "token:alice", (ok) => authState.push(ok));
  await authState.until((ok) => ok === true, "alice's token accepted");
  const who = new Updates();
  alice.onUpdate(api.tasks.whoami, {}, (v) => who.push(v), (e) => who.fail(e));
  await who.until((v) => v === "alice", "whoami alice");
  await alice.mutation(api.tasks.add, { text: "hers" });

  const bob = new ConvexHttpClient(url, quiet);
  bob.setAuth("token:bob");
  eq(await bob.query(api.tasks.whoami, {}), "bob", "whoami over HTTP");
  const anon = new ConvexHttpClient(url, quiet);
  eq(await anon.query(api.tasks.whoami, {}), null, "anonymous");
  const list = await anon.query(api.tasks.list, {});
  eq(list.map((d) => d.owner), ["alice"], "the mutation ran as alice");

  // A token the server refuses: the client is told, and goes on anonymous.
  const mallory = new ConvexClient(url, quiet);
  const refused = new Updates();
  mallory.setAuth(async () => "forged", (ok) => refused.push(ok));
  await refused.until((ok) => ok === false, "the forged token refused");
  eq(await mallory.query(api.tasks.whoami, {}), null, "after a refused token, anonymous");

  // Raw tables need the admin key.
  const msg = await rejects(anon.query(api["_system/livedb"].tables, {}), "raw tables without the key");
  check(msg.includes("needs the admin key"), "raw tables without the key: " + msg);
  const admin = new ConvexClient(url, quiet);
  admin.setAdminAuth(adminKey);
  const tables = new Updates();
  admin.onUpdate(api["_system/livedb"].tables, {}, (v) => tables.push(v), (e) => tables.fail(e));
  const t = await tables.until((v) => Array.isArray(v), "the tables");
  eq(t.map((x) => [x.name, x.documents]), [["tasks", 1]], "tables with counts");

  await alice.close();
  await mallory.close();
  await admin.close();
});
