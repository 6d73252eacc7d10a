// =====================================================================================
// THE API'S SHAPES, AS main SERVES THEM (2026-12-01, commit 270ff69).
//
// Everything the TypeScript client test knows about the shape of a response body, of an
// error, or about the spelling of a query parameter lives in this file and nowhere else:
// when the API's shapes change, adapt this file; api_client.test.ts stays as it is.
// =====================================================================================
import assert from "node:assert/strict";

import type { Client } from "openapi-fetch";

import type { paths } from "../generated/api.ts";

export type Api = Client<paths>;

export type QueueEntry = { id: string; userId: number; priority: number; status: string; queueType: string };
export type QueuePage = { entries: QueueEntry[]; nextOffset: number | null };
export type Problem = { status: number; kind: string; fields: string[] };

// --- the ids a command answers with -------------------------------------------------
// today: every value of "ids" is a string ("user_id": "10005")
export function idOf(ids: Record<string, unknown>, name: string): string {
  const value = ids[name];
  assert.equal(typeof value, "string", `ids.${name} is ${JSON.stringify(value)}`);
  return value as string;
}

export function assertIdsName(ids: Record<string, unknown>, name: string, expected: number): void {
  assert.equal(ids[name], String(expected));
}

// --- lists ---------------------------------------------------------------------------
// today: GET /api/queue/getQueue?queueType=… answers {"queueType", "entries": [...]}, with no
// pagination envelope: a full page means there may be another one at offset + limit
export async function queuePage(
  api: Api,
  queueType: string,
  limit: number,
  offset: number,
  minPosition?: number,
): Promise<QueuePage> {
  const { data, error, response } = await api.GET("/api/queue/getQueue", {
    params: { query: { queueType, limit, offset, min_position: minPosition } },
  });
  assert.equal(response.status, 200, JSON.stringify(error));
  const body = data as { queueType: unknown; entries: unknown };
  assert.equal(body.queueType, queueType);
  assert.ok(Array.isArray(body.entries), JSON.stringify(body));
  const entries = (body.entries as Record<string, unknown>[]).map(entryOf);
  return { entries, nextOffset: entries.length === limit ? offset + limit : null };
}

function entryOf(row: Record<string, unknown>): QueueEntry {
  assert.equal(typeof row.id, "string");
  assert.equal(typeof row.user_id, "number");
  assert.equal(typeof row.priority_score, "number");
  // today: datetimes without a zone ("2026-12-01T01:02:03.456"), UTC meant
  assert.match(String(row.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
  return {
    id: row.id as string,
    userId: row.user_id as number,
    priority: row.priority_score as number,
    status: row.status as string,
    queueType: row.queue_type as string,
  };
}

// today: GET /api/conversions answers {"conversions": [...], …}
export function conversionsOf(body: unknown): Record<string, unknown>[] {
  const list = (body as { conversions?: unknown }).conversions;
  assert.ok(Array.isArray(list), JSON.stringify(body));
  return list as Record<string, unknown>[];
}

// --- a user's score row ----------------------------------------------------------------
export function scoreOf(body: unknown): { userId: number; totalAttempts: number; lastOutcome: string } {
  const row = body as Record<string, unknown>;
  assert.equal(typeof row.user_id, "number");
  assert.equal(typeof row.total_attempts, "number");
  return {
    userId: row.user_id as number,
    totalAttempts: row.total_attempts as number,
    lastOutcome: row.last_call_outcome as string,
  };
}

// --- the store's head (the position of the last event recorded) -----------------------
// today: GET /health answers {"store", "phase", "head", "projected", "lag", "queries", "stuck"}
export async function headOf(api: Api): Promise<number> {
  const { data, response } = await api.GET("/health");
  assert.equal(response.status, 200);
  const head = (data as { head?: unknown }).head;
  assert.equal(typeof head, "number", JSON.stringify(data));
  return head as number;
}

// --- errors ----------------------------------------------------------------------------
// today: application/json {"error": "<kind>", "detail", "field", "problems"?: [{field, reason}]}
export const ERROR_MEDIA_TYPE = "application/json";

export function problemOf(response: Response, body: unknown): Problem {
  assert.equal(response.headers.get("content-type")?.split(";")[0], ERROR_MEDIA_TYPE);
  const error = body as { error?: unknown; detail?: unknown; field?: unknown; problems?: { field: string }[] };
  assert.equal(typeof error.error, "string", JSON.stringify(body));
  assert.equal(typeof error.detail, "string");
  const fields = error.problems ? error.problems.map((p) => p.field) : error.field ? [String(error.field)] : [];
  return { status: response.status, kind: error.error as string, fields };
}

export const KIND_OF = { invalid: "InvalidRequest", unauthorized: "Unauthorized" } as const;
