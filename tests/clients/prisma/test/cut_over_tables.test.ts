// The app's own ORM on the tables convtrack cut over: what the app reads and writes
// with Prisma 7 and the MariaDB driver adapter. Run by tests/e2e/test_prisma_client.py,
// which passes what the tables hold (read with SQL) in CONVTRACK_FACTS and checks the
// writes afterwards (verify --live, rebuild).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { PrismaMariaDb } from "@prisma/adapter-mariadb";

import { Prisma, PrismaClient } from "../generated/prisma/client.ts";

type Facts = {
  database: { host: string; port: number; user: string; password: string; database: string };
  queue: { type: string; pending_ids: string[] };
  score: { user_id: string; current_score: number; total_attempts: number; last_call_outcome: string };
  totals: {
    scores: number;
    score_sum: number;
    pending_by_type: Record<string, number>;
    claim_value_sum: string;
    sessions_of_agent_1: number;
  };
  conversion: {
    id: string;
    user_id: string;
    agent_name: string;
    claim_value: string;
    estimated_commission: string;
    documents_received: unknown;
    requirements_met: unknown;
  };
  write: { conversion_id: string; user_id: string; agent_id: number; entry_id: string; claim_value: string };
};

const facts: Facts = JSON.parse(process.env.CONVTRACK_FACTS ?? "{}");
const prisma = new PrismaClient({ adapter: new PrismaMariaDb({ ...facts.database, connectionLimit: 2 }) });

after(async () => {
  await prisma.$disconnect();
});

describe("reading the cut-over tables", () => {
  it("lists a queue type's pending entries by priority, highest first", async () => {
    const entries = await prisma.callQueue.findMany({
      where: { queueType: facts.queue.type, status: "pending" },
      orderBy: [{ priorityScore: "desc" }, { createdAt: "asc" }, { id: "asc" }],
    });
    assert.deepEqual(
      entries.map((entry) => entry.id),
      facts.queue.pending_ids,
    );
    for (let i = 1; i < entries.length; i++) {
      assert.ok(entries[i - 1].priorityScore >= entries[i].priorityScore);
    }
  });

  it("finds a score by its BigInt user id, beyond JavaScript's safe integers", async () => {
    const userId = BigInt(facts.score.user_id);
    assert.ok(userId > BigInt(Number.MAX_SAFE_INTEGER));
    const score = await prisma.userCallScore.findUnique({ where: { userId } });
    assert.ok(score, `no score row for user ${userId}`);
    assert.equal(score.userId, userId);
    assert.equal(score.currentScore, facts.score.current_score);
    assert.equal(score.totalAttempts, facts.score.total_attempts);
    assert.equal(score.lastCallOutcome, facts.score.last_call_outcome);
    assert.ok(score.lastCallAt instanceof Date);
  });

  it("counts and sums", async () => {
    const scores = await prisma.userCallScore.aggregate({ _count: { _all: true }, _sum: { currentScore: true } });
    assert.equal(scores._count._all, facts.totals.scores);
    assert.equal(scores._sum.currentScore, facts.totals.score_sum);

    const pending = await prisma.callQueue.groupBy({
      by: ["queueType"],
      where: { status: "pending" },
      _count: { _all: true },
    });
    const byType = Object.fromEntries(pending.map((group) => [group.queueType, group._count._all]));
    assert.deepEqual(byType, facts.totals.pending_by_type);

    const money = await prisma.conversion.aggregate({ _sum: { claimValue: true } });
    assert.equal(money._sum.claimValue?.toFixed(2), facts.totals.claim_value_sum);

    // call_sessions is not migrated: the app's table, as it was
    const sessions = await prisma.callSession.findMany({ where: { agent: { id: 1 } }, include: { agent: true } });
    assert.equal(sessions.length, facts.totals.sessions_of_agent_1);
    assert.ok(sessions.every((session) => session.agent.id === 1 && typeof session.userId === "bigint"));
  });

  it("reads a conversion with its agent, exact decimals and JSON columns", async () => {
    const conversion = await prisma.conversion.findUniqueOrThrow({
      where: { id: facts.conversion.id },
      include: { primaryAgent: true },
    });
    assert.equal(conversion.userId, BigInt(facts.conversion.user_id));
    assert.equal(conversion.primaryAgent?.name, facts.conversion.agent_name);
    assert.ok(conversion.claimValue instanceof Prisma.Decimal);
    assert.equal(conversion.claimValue.toFixed(2), facts.conversion.claim_value);
    assert.equal(conversion.estimatedCommission?.toFixed(2), facts.conversion.estimated_commission);
    assert.deepEqual(conversion.documentsReceived, facts.conversion.documents_received);
    assert.deepEqual(conversion.requirementsMet, facts.conversion.requirements_met);

    const agent = await prisma.agent.findFirstOrThrow({
      where: { name: facts.conversion.agent_name },
      include: { conversions: { select: { id: true } } },
    });
    assert.ok(agent.conversions.some((row) => row.id === facts.conversion.id));
  });
});

describe("writing the cut-over tables directly (what docs/prisma.md asks the app not to do)", () => {
  it("creates a conversion with exact decimals and JSON", async () => {
    const written = await prisma.conversion.create({
      data: {
        id: facts.write.conversion_id,
        userId: BigInt(facts.write.user_id),
        previousQueueType: facts.queue.type,
        conversionType: "signed",
        primaryAgent: { connect: { id: facts.write.agent_id } },
        documentsReceived: ["passport", "payslip – März"],
        requirementsMet: { id_checked: true, notes: "tab\there" },
        signatureObtained: true,
        claimValue: new Prisma.Decimal(facts.write.claim_value),
        estimatedCommission: new Prisma.Decimal("0.01"),
      },
    });
    assert.equal(written.claimValue?.toFixed(2), facts.write.claim_value);
  });

  it("assigns a pending queue entry to an agent", async () => {
    const entry = await prisma.callQueue.update({
      where: { id: facts.write.entry_id, status: "pending" },
      data: { status: "assigned", assignedToAgent: { connect: { id: facts.write.agent_id } }, assignedAt: new Date() },
    });
    assert.equal(entry.status, "assigned");
    assert.equal(entry.assignedToAgentId, facts.write.agent_id);
  });
});
