// An agents' service written in TypeScript against convtrack's /openapi.json: the client is
// openapi-fetch typed by openapi-typescript from the document the live server serves, so
// `tsc` checks every path, parameter and body below against it. Run by
// tests/integration/api/test_typescript_client.py against a live `convtrack serve`.
// What this file expects of response shapes is in shapes.ts.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";

import createClient from "openapi-fetch";

import type { paths } from "../generated/api.ts";
import {
  type Api,
  TYPE_OF,
  assertIdsName,
  conversionsOf,
  headOf,
  historyOf,
  idOf,
  problemOf,
  queuePage,
  scoreOf,
} from "./shapes.ts";

const baseUrl = process.env.CONVTRACK_BASE_URL ?? "http://127.0.0.1:8000";
const api: Api = createClient<paths>({ baseUrl, headers: { "X-API-Key": process.env.CONVTRACK_API_KEY ?? "" } });
const USER = 424242;

describe("an agents' service on the typed client", () => {
  let lastPosition = 0;
  let conversionKey = "";

  it("records a call attempt and reads the score it made", async () => {
    const { data, response } = await api.POST("/api/call-attempts", {
      body: { user_id: USER, agent_id: 3, outcome: "answered", called_at: "2026-11-30T10:11:12.345Z" },
    });
    assert.equal(response.status, 201);
    assert.ok(data && data.position !== null && data.position !== undefined);
    assertIdsName(data.ids, "user_id", USER);
    const score = await api.GET("/api/scores/{user_id}", {
      params: { path: { user_id: USER }, query: { min_position: data.position, wait_seconds: 10 } },
    });
    assert.equal(score.response.status, 200);
    assert.deepEqual(scoreOf(score.data), { userId: USER, totalAttempts: 1, lastOutcome: "answered" });
    lastPosition = data.position;
  });

  it("records a conversion once under an idempotency key: a replay gets the same answer and records nothing", async () => {
    const key = `crm-${randomUUID()}`;
    const body = {
      user_id: USER,
      conversion_type: "signed_ts_client",
      primary_agent_id: 3,
      signature_obtained: true,
      claim_value: "1250.05",
      estimated_commission: "187.50",
      documents_received: ["passport", { payslip: "März" }],
    };
    const send = () =>
      api.POST("/api/conversions", { body, params: { header: { "Idempotency-Key": key } }, headers: { "X-Request-ID": `ts-${key}` } });

    const first = await send();
    assert.equal(first.response.status, 201, JSON.stringify(first.error));
    assert.ok(first.data);
    assert.equal(first.data.replayed, false);
    const headAfterFirst = await headOf(api);

    const replay = await send();
    assert.equal(replay.response.status, 200, JSON.stringify(replay.error));
    assert.ok(replay.data);
    assert.equal(replay.data.replayed, true);
    assert.deepEqual(replay.data.ids, first.data.ids);
    assert.equal(replay.data.position, first.data.position);
    assert.equal(await headOf(api), headAfterFirst, "the replay recorded an event");

    const listed = await api.GET("/api/conversions", {
      params: { query: { conversion_type: "signed_ts_client", min_position: first.data.position, wait_seconds: 10 } },
    });
    assert.equal(listed.response.status, 200);
    const rows = conversionsOf(listed.data);
    assert.deepEqual(
      rows.map((row) => [row.id, row.claim_value]),
      [[idOf(first.data.ids, "conversion_id"), "1250.05"]],
    );
    lastPosition = first.data.position ?? lastPosition;
    conversionKey = key;
  });

  it("reads the user's history page by page: each event with its actor, request id and idempotency key", async () => {
    const seen: ReturnType<typeof historyOf>["items"] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const at: number = offset;
      const answer = await api.GET("/api/users/{user_id}/history", {
        params: { path: { user_id: USER }, query: { limit: 1, offset: at } },
      });
      assert.equal(answer.response.status, 200, JSON.stringify(answer.error));
      const page = historyOf(answer.data, 1, at);
      seen.push(...page.items);
      offset = page.nextOffset;
      assert.ok(seen.length <= 20, "the pages never end");
    }
    const attempt = seen.find((item) => item.aggregate === "UserCallScore" && item.event === "CallAttemptRecorded");
    const conversion = seen.find((item) => item.aggregate === "Conversion" && item.event === "Recorded");
    assert.ok(attempt && conversion, JSON.stringify(seen));
    assert.equal(attempt.actor, "typescript-client");
    assert.equal(conversion.actor, "typescript-client");
    assert.equal(conversion.idempotencyKey, conversionKey);
    assert.equal(conversion.requestId, `ts-${conversionKey}`);
  });

  it("pages through a queue, highest priority first, each entry once", async () => {
    const enqueued = new Set<string>();
    for (let i = 0; i < 7; i++) {
      const { data, response } = await api.POST("/api/queue", {
        body: { user_id: 500000 + i, queue_type: "outstanding_requests", priority_score: (i * 37) % 100, reason: `docs ${i}` },
      });
      assert.equal(response.status, 201);
      assert.ok(data);
      enqueued.add(idOf(data.ids, "entry_id"));
      lastPosition = data.position ?? lastPosition;
    }
    const seen: string[] = [];
    const priorities: number[] = [];
    let offset: number | null = 0;
    let pages = 0;
    while (offset !== null) {
      const page = await queuePage(api, "outstanding_requests", 3, offset, lastPosition);
      assert.ok(page.entries.length <= 3);
      for (const entry of page.entries) {
        assert.equal(entry.queueType, "outstanding_requests");
        assert.equal(entry.status, "pending");
        seen.push(entry.id);
        priorities.push(entry.priority);
      }
      offset = page.nextOffset;
      pages += 1;
      assert.ok(pages <= 10, "the pages never end");
    }
    assert.equal(new Set(seen).size, seen.length, "an entry came twice");
    assert.deepEqual(new Set(seen.filter((id) => enqueued.has(id))), enqueued);
    assert.deepEqual(priorities, [...priorities].sort((a, b) => b - a));
    assert.ok(pages >= 3);
  });

  it("is told which field is wrong (422), and nothing is recorded", async () => {
    const before = await headOf(api);
    const { error, response } = await api.POST("/api/conversions", {
      body: { user_id: USER + 1, conversion_type: "signed", claim_value: "12.345" },
    });
    const problem = problemOf(response, error);
    assert.equal(problem.status, 422);
    assert.equal(problem.type, TYPE_OF.invalid);
    assert.deepEqual(problem.fields, ["claim_value"]);
    assert.equal(await headOf(api), before);
  });

  it("is refused without a valid key (401)", async () => {
    const stranger = createClient<paths>({ baseUrl, headers: { "X-API-Key": "not-a-key" } });
    const { error, response } = await stranger.POST("/api/call-attempts", {
      body: { user_id: USER, agent_id: 3, outcome: "answered" },
    });
    const problem = problemOf(response, error);
    assert.equal(problem.status, 401);
    assert.equal(problem.type, TYPE_OF.unauthorized);
  });
});
