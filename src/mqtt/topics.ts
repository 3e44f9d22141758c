// Topic names and filters (MQTT 3.1.1 §4.7, MQTT 5 §4.7 and §4.8.2 for shared subscriptions).
import { InvalidTopicError } from "./errors.js";

const MAX_TOPIC_BYTES = 65_535;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` is not a well-formed MQTT UTF-8 string, or undefined. */
function stringProblem(text: string): string | undefined {
  if (text.length === 0) return "it is empty (§4.7.3: topic names and filters MUST be at least one character long)";
  // §1.5.3: "The character data in a UTF-8 encoded string MUST NOT include an encoding of the null character U+0000."
  if (text.includes("\u0000")) return "it contains U+0000 (§1.5.3)";
  if (LONE_SURROGATE.test(text)) return "it is not well-formed UTF-16/UTF-8 (a lone surrogate)";
  // Cheap upper bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (text.length * 3 > MAX_TOPIC_BYTES && Buffer.byteLength(text) > MAX_TOPIC_BYTES) return `it is longer than ${MAX_TOPIC_BYTES} bytes in UTF-8`;
  return undefined;
}

/** Why `topic` is not a valid topic name (for PUBLISH), or undefined. */
export function topicNameProblem(topic: string): string | undefined {
  const problem = stringProblem(topic);
  if (problem) return problem;
  // §4.7.1: "The wildcard characters can be used in Topic Filters, but MUST NOT be used within a Topic Name."
  if (topic.includes("+") || topic.includes("#")) return "wildcards (+ #) are not allowed in a topic name (§4.7.1)";
  return undefined;
}

/** Why `filter` is not a valid topic filter (for SUBSCRIBE/UNSUBSCRIBE), or undefined. */
export function topicFilterProblem(filter: string): string | undefined {
  const problem = stringProblem(filter);
  if (problem) return problem;
  const shared = splitShared(filter);
  if (shared === null) return "a shared subscription is $share/{ShareName}/{filter} with a non-empty ShareName without / + # and a non-empty filter (§4.8.2)";
  const levels = (shared?.filter ?? filter).split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes("#")) {
      // §4.7.1.2: "The multi-level wildcard character MUST be specified either on its own or
      // following a topic level separator. In either case it MUST be the last character specified in the Topic Filter."
      if (level !== "#" || i !== levels.length - 1) return "# must be the last level, on its own (§4.7.1.2)";
    }
    // §4.7.1.3: the single-level wildcard "MUST occupy an entire level of the filter".
    if (level.includes("+") && level !== "+") return "+ must occupy a whole level (§4.7.1.3)";
  }
  return undefined;
}

/** Throws InvalidTopicError unless `topic` is a valid topic name. */
export function validateTopicName(topic: string): void {
  const problem = topicNameProblem(topic);
  if (problem) throw new InvalidTopicError(topic, "name", problem);
}

/** Throws InvalidTopicError unless `filter` is a valid topic filter. */
export function validateTopicFilter(filter: string): void {
  const problem = topicFilterProblem(filter);
  if (problem) throw new InvalidTopicError(filter, "filter", problem);
}

/**
 * `$share/group/filter` → { group, filter }; a filter that is not shared → undefined;
 * a malformed shared filter → null.
 */
export function splitShared(filter: string): { group: string; filter: string } | undefined | null {
  if (!filter.startsWith("$share/")) return undefined;
  const slash = filter.indexOf("/", 7);
  if (slash < 0) return null;
  const group = filter.slice(7, slash);
  const inner = filter.slice(slash + 1);
  if (group.length === 0 || group.includes("+") || group.includes("#") || inner.length === 0) return null;
  return { group, filter: inner };
}

/**
 * Whether `topic` (a topic name) matches `filter` (a topic filter, possibly shared: the
 * group prefix is ignored). Both are assumed valid.
 */
export function matches(filter: string, topic: string): boolean {
  const shared = splitShared(filter);
  if (shared) filter = shared.filter;
  // §4.7.2: "The Server MUST NOT match Topic Filters starting with a wildcard character (# or +)
  // with Topic Names beginning with a $ character."
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  let f = 0;
  let t = 0;
  for (;;) {
    const fEnd = nextSlash(filter, f);
    const level = filter.slice(f, fEnd);
    // "sport/#" also matches "sport": # matches the parent level and any number of child levels.
    if (level === "#") return true;
    if (t > topic.length) return false;
    const tEnd = nextSlash(topic, t);
    if (level !== "+" && level !== topic.slice(t, tEnd)) return false;
    const fDone = fEnd === filter.length;
    const tDone = tEnd === topic.length;
    if (fDone || tDone) {
      if (fDone && tDone) return true;
      // The topic ran out: only a trailing "/#" still matches ("sport/#" vs "sport").
      return tDone && filter.slice(fEnd + 1) === "#";
    }
    f = fEnd + 1;
    t = tEnd + 1;
  }
}

function nextSlash(text: string, from: number): number {
  const i = text.indexOf("/", from);
  return i < 0 ? text.length : i;
}
