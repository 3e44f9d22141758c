import { describe, expect, it } from "vitest";
import { InvalidTopicError } from "../../src/mqtt/errors.js";
import { matches, splitShared, topicFilterProblem, topicNameProblem, validateTopicFilter, validateTopicName } from "../../src/mqtt/topics.js";

describe("topic names (§4.7)", () => {
  it.each(["sport", "sport/tennis/player1", "/", "//", "/finance", "sport/", "$SYS/broker/load", "a b/ü/日本", "x".repeat(65_535)])("accepts %j", (topic) => {
    expect(topicNameProblem(topic)).toBeUndefined();
  });
  it.each([
    ["", /empty/],
    ["sport/+", /wildcards/],
    ["sport/#", /wildcards/],
    ["sp+ort", /wildcards/],
    ["a\u0000b", /U\+0000/],
    ["a\uD800b", /surrogate/],
    ["x".repeat(65_536), /65535/],
    ["é".repeat(32_768), /65535/],
  ])("rejects %j", (topic, why) => {
    expect(topicNameProblem(topic)).toMatch(why);
    expect(() => validateTopicName(topic)).toThrow(InvalidTopicError);
  });
});

describe("topic filters (§4.7.1)", () => {
  it.each([
    "sport/tennis/player1/#", "sport/#", "#", "+", "+/tennis/#", "sport/+/player1", "/+", "+/+", "sport/+", "$SYS/#",
    "$share/group/sport/#", "$share/g/+", "a//b", "/",
  ])("accepts %j", (filter) => {
    expect(topicFilterProblem(filter)).toBeUndefined();
  });
  it.each([
    ["", /empty/],
    ["sport/tennis#", /#/],
    ["sport/tennis/#/ranking", /#/],
    ["#/a", /#/],
    ["sport+", /\+/],
    ["sport/+tennis", /\+/],
    ["$share/group", /shared/],
    ["$share//a", /shared/],
    ["$share/g+/a", /shared/],
    ["$share/g/", /shared/],
    ["$share/g/a#", /#/],
    ["a\u0000", /U\+0000/],
  ])("rejects %j", (filter, why) => {
    expect(topicFilterProblem(filter)).toMatch(why);
    expect(() => validateTopicFilter(filter)).toThrow(InvalidTopicError);
  });
  it("splits shared subscriptions", () => {
    expect(splitShared("$share/consumer1/sport/tennis/+")).toEqual({ group: "consumer1", filter: "sport/tennis/+" });
    expect(splitShared("sport/#")).toBeUndefined();
    expect(splitShared("$share/x")).toBeNull();
  });
});

describe("matches (spec examples, §4.7.1-4.7.2)", () => {
  it.each([
    // §4.7.1.2
    ["sport/tennis/player1/#", "sport/tennis/player1", true],
    ["sport/tennis/player1/#", "sport/tennis/player1/ranking", true],
    ["sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true],
    ["sport/#", "sport", true],
    ["sport/#", "sport/", true],
    ["#", "sport/tennis", true],
    ["#", "/", true],
    // §4.7.1.3
    ["sport/tennis/+", "sport/tennis/player1", true],
    ["sport/tennis/+", "sport/tennis/player2", true],
    ["sport/tennis/+", "sport/tennis/player1/ranking", false],
    ["sport/+", "sport", false],
    ["sport/+", "sport/", true],
    ["+/+", "/finance", true],
    ["/+", "/finance", true],
    ["+", "/finance", false],
    ["+", "finance", true],
    ["+/tennis/#", "sport/tennis/player1", true],
    ["+/tennis/#", "sport/tennis", true],
    ["+/tennis/#", "sport/football", false],
    ["sport/+/player1", "sport/tennis/player1", true],
    ["sport/+/player1", "sport/tennis/player2", false],
    // §4.7.2: $-topics and leading wildcards
    ["#", "$SYS/broker", false],
    ["+/monitor/Clients", "$SYS/monitor/Clients", false],
    ["$SYS/#", "$SYS/monitor/Clients", true],
    ["$SYS/monitor/+", "$SYS/monitor/Clients", true],
    // exact, case and empty levels
    ["a/b", "a/b", true],
    ["a/b", "A/b", false],
    ["a/b", "a/b/c", false],
    ["a/b/c", "a/b", false],
    ["a//b", "a//b", true],
    ["a/+/b", "a//b", true],
    ["a/b/", "a/b", false],
    ["a/b", "a/b/", false],
    // shared subscriptions match on their filter
    ["$share/g/sport/#", "sport/tennis", true],
    ["$share/g/+", "$SYS/x", false],
    ["$share/g/a/+", "a/b", true],
  ])("%j vs %j → %s", (filter, topic, expected) => {
    expect(matches(filter, topic)).toBe(expected);
  });

  it("agrees with a reference implementation on random filters and topics", () => {
    const reference = (filter: string, topic: string): boolean => {
      if (topic.startsWith("$") && /^[+#]/.test(filter)) return false;
      const source = filter
        .split("/")
        .map((level, i) => (level === "#" ? (i === 0 ? ".*" : "(?:/.*)?") : (i === 0 ? "" : "/") + (level === "+" ? "[^/]*" : level.replace(/[$^.*?()[\]{}|\\]/g, "\\$&"))))
        .join("");
      return new RegExp(`^${source}$`).test(topic);
    };
    const levels = ["a", "b", "", "$x"];
    let seed = 42;
    const pick = <T>(items: T[]): T => items[(seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % items.length]!;
    for (let n = 0; n < 5_000; n++) {
      const topic = Array.from({ length: 1 + (n % 4) }, () => pick(levels)).join("/");
      const filterLevels = Array.from({ length: 1 + ((n >> 2) % 4) }, () => pick([...levels, "+", "+", "#"]));
      const hash = filterLevels.indexOf("#");
      const filter = (hash >= 0 ? filterLevels.slice(0, hash + 1) : filterLevels).join("/");
      if (topicFilterProblem(filter) || topicNameProblem(topic)) continue;
      expect(matches(filter, topic), `${filter} vs ${topic}`).toBe(reference(filter, topic));
    }
  });
});
