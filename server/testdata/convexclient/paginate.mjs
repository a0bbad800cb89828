// A paginated query as usePaginatedQuery runs it (the client's
// PaginatedQueryClient): pages load one after the other, and a document
// inserted inside a loaded page joins that page, whose end stays where it
// was, so the list has no gap and no duplicate.
import { ConvexClient } from "convex/browser";
import { api, url, quiet, eq, Updates, main } from "./lib.mjs";

const texts = (r) => r.results.map((d) => d.text);

main(async () => {
  const writer = new ConvexClient(url, quiet);
  for (const t of ["a", "c", "e", "g", "i"]) {
    await writer.mutation(api.tasks.add, { text: t });
  }

  const reader = new ConvexClient(url, quiet);
  const seen = new Updates();
  const sub = reader.onPaginatedUpdate_experimental(
    api.tasks.page,
    {},
    { initialNumItems: 2 },
    (r) => seen.push({ texts: texts(r), status: r.status, loadMore: r.loadMore }),
    (e) => seen.fail(e),
  );
  let r = await seen.until((v) => v.status === "CanLoadMore", "the first page");
  eq(r.texts, ["a", "c"], "the first page");

  r.loadMore(2);
  r = await seen.until((v) => v.texts.length === 4 && v.status === "CanLoadMore", "two pages");
  eq(r.texts, ["a", "c", "e", "g"], "two pages");
  r.loadMore(2);
  r = await seen.until((v) => v.status === "Exhausted", "every page");
  eq(r.texts, ["a", "c", "e", "g", "i"], "every page");

  // Inside the first page, then inside the second.
  await writer.mutation(api.tasks.add, { text: "b" });
  r = await seen.until((v) => v.texts.includes("b"), "b in the list");
  eq(r.texts, ["a", "b", "c", "e", "g", "i"], "b joined the first page");
  const first = reader.client.localQueryResult("tasks:page", { paginationOpts: { cursor: null, numItems: 2, id: -1 } });
  eq(first.page.map((d) => d.text), ["a", "b", "c"], "the first page grew: its end stayed at c");

  await writer.mutation(api.tasks.add, { text: "d" });
  r = await seen.until((v) => v.texts.includes("d"), "d in the list");
  eq(r.texts, ["a", "b", "c", "d", "e", "g", "i"], "d joined the second page");
  eq(r.status, "Exhausted", "still every page");

  sub();
  await reader.close();
  await writer.close();
});
