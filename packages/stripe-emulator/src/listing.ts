import type { Context } from "./context.js";
import { expandObject } from "./expand.js";
import { listObject, type StripeObject } from "./objects.js";
import { invalidRequest, type Params } from "./params.js";
import { json, type Reply } from "./server.js";

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

/** One object as Stripe answers it: rendered, then `expand[]` applied. */
export function objectReply({
  context,
  input,
  object,
}: {
  context: Context;
  input: Params;
  object: StripeObject;
}): Reply {
  return json(expandObject({ context, object, paths: input.expand() }));
}

/** `created` as an exact time or a range: `created=…` or `created[gte]=…&created[lt]=…`. */
function createdFilter(input: Params): (created: number) => boolean {
  if (!input.hasObject("created")) {
    const exact = input.integer("created");
    return (created) => exact === undefined || created === exact;
  }
  const range = input.object("created");
  const gt = range?.integer("gt");
  const gte = range?.integer("gte");
  const lt = range?.integer("lt");
  const lte = range?.integer("lte");
  return (created) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte);
}

/**
 * A page of a list in Stripe's form, newest first, with `limit` (1–100, default 10),
 * `starting_after`/`ending_before` cursors, the `created` filter and `expand[]` (`data.…`).
 */
export function listReply<T extends { id: string; created: number }>({
  context,
  input,
  records,
  render,
  url,
}: {
  context: Context;
  input: Params;
  records: T[];
  render: (record: T) => StripeObject;
  url: string;
}): Reply {
  const limit = input.integer("limit") ?? DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) {
    throw invalidRequest(`Invalid limit: must be between 1 and ${MAX_LIMIT}`, "limit");
  }
  const inRange = createdFilter(input);
  const matching = records.filter((record) => inRange(record.created));
  const cursorIndex = (param: string, id: string) => {
    const index = matching.findIndex((record) => record.id === id);
    if (index === -1) throw invalidRequest(`No such object in this list: '${id}'`, param, "resource_missing");
    return index;
  };
  const startingAfter = input.string("starting_after");
  const endingBefore = input.string("ending_before");
  let page: T[];
  let hasMore: boolean;
  if (startingAfter) {
    const from = cursorIndex("starting_after", startingAfter) + 1;
    page = matching.slice(from, from + limit);
    hasMore = from + limit < matching.length;
  } else if (endingBefore) {
    const to = cursorIndex("ending_before", endingBefore);
    const from = Math.max(0, to - limit);
    page = matching.slice(from, to);
    hasMore = from > 0;
  } else {
    page = matching.slice(0, limit);
    hasMore = limit < matching.length;
  }
  return objectReply({ context, input, object: listObject({ data: page.map(render), url, hasMore }) });
}
