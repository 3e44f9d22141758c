// The shared bound on bytes waiting to be written, driven with fake members: no sockets.
import { describe, expect, it } from "vitest";
import { PolicyViolationError } from "../../src/protocol/errors.js";
import { WriteBudget, type BudgetMember } from "../../src/transport/write-budget.js";

/** A member whose real backlog (`waiting`) may differ from what it last reported. */
class Member implements BudgetMember {
  waiting = 0;
  evicted: PolicyViolationError | undefined;
  constructor(readonly name: string) {}
  waitingBytes(): number {
    return this.evicted ? 0 : this.waiting;
  }
  evict(error: PolicyViolationError): void {
    this.evicted = error;
  }
  report(budget: WriteBudget, bytes: number): void {
    this.waiting = bytes;
    budget.update(this, bytes);
  }
}

describe("WriteBudget", () => {
  it("counts whole backlogs, so the total cannot drift: back to 0 once every member drained or left", () => {
    const budget = new WriteBudget(1000);
    const [a, b] = [new Member("a"), new Member("b")];
    for (let i = 1; i <= 100; i++) {
      a.report(budget, (i * 7) % 50);
      b.report(budget, (i * 13) % 40);
      expect(budget.used).toBe(a.waiting + b.waiting);
    }
    a.report(budget, 0);
    b.report(budget, 0);
    expect([budget.used, budget.members]).toEqual([0, 0]);
  });

  it("over the limit: fails the largest backlogs with 1008 until within it, and keeps the rest", () => {
    const budget = new WriteBudget(1000);
    const [small, large, medium] = [new Member("small"), new Member("large"), new Member("medium")];
    small.report(budget, 100);
    large.report(budget, 700);
    budget.enforce();
    expect(budget.used).toBe(800);
    medium.report(budget, 400);
    budget.enforce();
    expect(large.evicted).toBeInstanceOf(PolicyViolationError);
    expect(large.evicted).toMatchObject({ code: "WS_ERR_WRITE_BUDGET", closeCode: 1008, message: expect.stringContaining("maxTotalBufferedAmount (1000)") });
    expect([small.evicted, medium.evicted]).toEqual([undefined, undefined]);
    expect(budget.used).toBe(500);
  });

  it("measures backlogs again before choosing: one that drained since it reported is not dropped", () => {
    const budget = new WriteBudget(1000);
    const [drained, stuck, writer] = [new Member("drained"), new Member("stuck"), new Member("writer")];
    drained.report(budget, 600);
    stuck.report(budget, 300);
    drained.waiting = 0; // its socket drained without a report
    writer.report(budget, 200);
    budget.enforce();
    expect([drained.evicted, stuck.evicted, writer.evicted]).toEqual([undefined, undefined, undefined]);
    expect(budget.used).toBe(500);
  });

  it("refuses a limit that is not a positive integer", () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => new WriteBudget(limit)).toThrow(/maxTotalBufferedAmount must be a positive integer/);
    expect(new WriteBudget().limit).toBe(64 * 1024 * 1024);
  });
});
