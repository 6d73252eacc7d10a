// =====================================================================================
// THE API'S SHAPES (docs/api.md): numbers as JSON numbers, datetimes RFC 3339 UTC with
// milliseconds and "Z", every list in one envelope {items, limit, offset, next_offset,
// has_more}, every error an RFC 9457 application/problem+json body.
//
// Everything the TypeScript client test checks at run time about the shape of a response
// body or an error lives in this file; tsc checks the rest against the generated types.
// =====================================================================================
import assert from "node:assert/strict";

import type { Client } from "openapi-fetch";

import type { paths } from "../generated/api.ts";

export type Api = Client<paths>;

export type QueueEntry = { id: string; userId: number; priority: number; status: string; queueType: string };
export type QueuePage = { entries: QueueEntry[]; nextOffset: number | null };
export type Problem = { status: number; type: string; fields: string[]; requestId: string };

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// --- the ids a command answers with: numbers where the column is numeric -----------------
export function idOf(ids: Record<string, unknown>, name: string): string {
  const value = ids[name];
  assert.equal(typeof value, "string", `ids.${name} is ${JSON.stringify(value)}`);
  return value as string;
}

export function assertIdsName(ids: Record<string, unknown>, name: string, expected: number): void {
  assert.equal(ids[name], expected);
}

// --- lists: one envelope ---------------------------------------------------------------
function envelopeOf(body: unknown, limit: number, offset: number): { items: unknown[]; nextOffset: number | null } {
  const page = body as { items: unknown; limit: unknown; offset: unknown; next_offset: unknown; has_more: unknown };
  assert.ok(Array.isArray(page.items), JSON.stringify(body));
  assert.equal(page.limit, limit);
  assert.equal(page.offset, offset);
  assert.equal(page.has_more, page.next_offset !== null, JSON.stringify(body));
  return { items: page.items, nextOffset: page.next_offset as number | null };
}

export async function queuePage(
  api: Api,
  queueType: "outstanding_requests" | "unsigned_users",
  limit: number,
  offset: number,
  minPosition?: number,
): Promise<QueuePage> {
  const { data, error, response } = await api.GET("/api/queue", {
    params: { query: { queue_type: queueType, limit, offset, min_position: minPosition } },
  });
  assert.equal(response.status, 200, JSON.stringify(error));
  assert.ok(data);
  assert.equal(data.queue_type, queueType);
  const { items, nextOffset } = envelopeOf(data, limit, offset);
  return { entries: (items as Record<string, unknown>[]).map(entryOf), nextOffset };
}

function entryOf(row: Record<string, unknown>): QueueEntry {
  assert.equal(typeof row.id, "string");
  assert.equal(typeof row.user_id, "number");
  assert.equal(typeof row.priority_score, "number");
  assert.match(String(row.created_at), TIMESTAMP);
  return {
    id: row.id as string,
    userId: row.user_id as number,
    priority: row.priority_score as number,
    status: row.status as string,
    queueType: row.queue_type as string,
  };
}

export function conversionsOf(body: unknown, limit = 50): Record<string, unknown>[] {
  const { items } = envelopeOf(body, limit, 0);
  for (const row of items as Record<string, unknown>[]) {
    assert.match(String(row.converted_at), TIMESTAMP);
  }
  return items as Record<string, unknown>[];
}

// --- a user's score row ----------------------------------------------------------------
export function scoreOf(body: unknown): { userId: number; totalAttempts: number; lastOutcome: string } {
  const row = body as Record<string, unknown>;
  assert.equal(typeof row.user_id, "number");
  assert.equal(typeof row.total_attempts, "number");
  assert.match(String(row.updated_at), TIMESTAMP);
  return {
    userId: row.user_id as number,
    totalAttempts: row.total_attempts as number,
    lastOutcome: row.last_call_outcome as string,
  };
}

// --- a user's history: the events, oldest first, with who recorded them ----------------
export type HistoryItem = { event: string; aggregate: string; actor: string | null; requestId: string | null; idempotencyKey: string | null };

export function historyOf(body: unknown, limit: number, offset: number): { items: HistoryItem[]; nextOffset: number | null } {
  const { items, nextOffset } = envelopeOf(body, limit, offset);
  return {
    nextOffset,
    items: (items as Record<string, unknown>[]).map((item) => {
      assert.match(String(item.at), TIMESTAMP);
      assert.equal(typeof item.position, "number");
      return {
        event: item.event as string,
        aggregate: item.aggregate as string,
        actor: item.actor as string | null,
        requestId: item.request_id as string | null,
        idempotencyKey: item.idempotency_key as string | null,
      };
    }),
  };
}

// --- the store's head (the position of the last event recorded) -----------------------
export async function headOf(api: Api): Promise<number> {
  const { data, response } = await api.GET("/health");
  assert.equal(response.status, 200);
  const head = (data as { head?: unknown }).head;
  assert.equal(typeof head, "number", JSON.stringify(data));
  return head as number;
}

// --- errors: RFC 9457 ------------------------------------------------------------------
export const ERROR_MEDIA_TYPE = "application/problem+json";

export function problemOf(response: Response, body: unknown): Problem {
  assert.equal(response.headers.get("content-type")?.split(";")[0], ERROR_MEDIA_TYPE);
  const problem = body as {
    type?: unknown;
    title?: unknown;
    status?: unknown;
    detail?: unknown;
    request_id?: unknown;
    errors?: { field: string; location: string; detail: string }[];
  };
  assert.equal(typeof problem.type, "string", JSON.stringify(body));
  assert.equal(typeof problem.title, "string");
  assert.equal(typeof problem.detail, "string");
  assert.equal(problem.status, response.status);
  assert.ok(Array.isArray(problem.errors), JSON.stringify(body));
  assert.equal(problem.request_id, response.headers.get("x-request-id"));
  return {
    status: response.status,
    type: problem.type as string,
    fields: problem.errors.map((e) => e.field),
    requestId: problem.request_id as string,
  };
}

export const TYPE_OF = {
  invalid: "urn:convtrack:problem:invalid-request",
  unauthorized: "urn:convtrack:problem:unauthorized",
} as const;
