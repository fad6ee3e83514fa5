/**
 * Interface-name globs (`eth*`, `veth?`, `tun[0-3]`, `[!l]o`). Users never supply regular expressions:
 * the pattern is interpreted here, character by character, so no pattern can be slow or surprising.
 */

export class InvalidGlobError extends Error {
  override readonly name = "InvalidGlobError";
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`invalid interface pattern "${pattern}": ${reason}`);
  }
}

type Token =
  | { kind: "literal"; char: string }
  | { kind: "any-one" }
  | { kind: "any-run" }
  | { kind: "class"; negated: boolean; ranges: Array<[string, string]> };

/** Longest interface name Linux accepts (IFNAMSIZ - 1); longer patterns could never match anything useful. */
const maxPatternLength = 64;

function parseGlob(pattern: string): Token[] {
  if (pattern.length === 0) throw new InvalidGlobError(pattern, "pattern is empty");
  if (pattern.length > maxPatternLength)
    throw new InvalidGlobError(pattern, `longer than ${maxPatternLength} characters`);
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === "*") {
      // Consecutive stars mean the same as one; collapsing keeps matching linear.
      if (tokens.at(-1)?.kind !== "any-run") tokens.push({ kind: "any-run" });
      i += 1;
    } else if (c === "?") {
      tokens.push({ kind: "any-one" });
      i += 1;
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close === -1) throw new InvalidGlobError(pattern, `"[" at position ${i + 1} is never closed`);
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      if (body.length === 0)
        throw new InvalidGlobError(pattern, `empty character class at position ${i + 1}`);
      const ranges: Array<[string, string]> = [];
      for (let j = 0; j < body.length; j++) {
        const from = body[j] as string;
        const to = body[j + 2];
        if (body[j + 1] === "-" && to !== undefined) {
          if (to < from) throw new InvalidGlobError(pattern, `range "${from}-${to}" is reversed`);
          ranges.push([from, to]);
          j += 2;
        } else {
          ranges.push([from, from]);
        }
      }
      tokens.push({ kind: "class", negated, ranges });
      i = close + 1;
    } else if (c === "\\" && i + 1 < pattern.length) {
      tokens.push({ kind: "literal", char: pattern[i + 1] as string });
      i += 2;
    } else {
      tokens.push({ kind: "literal", char: c });
      i += 1;
    }
  }
  return tokens;
}

function matchesToken(token: Exclude<Token, { kind: "any-run" }>, c: string): boolean {
  switch (token.kind) {
    case "literal":
      return token.char === c;
    case "any-one":
      return true;
    case "class": {
      const inside = token.ranges.some(([from, to]) => c >= from && c <= to);
      return inside !== token.negated;
    }
  }
}

/** Iterative wildcard matching with single-star backtracking: O(name × pattern) worst case. */
function matchTokens(tokens: Token[], name: string): boolean {
  let t = 0;
  let n = 0;
  let starToken = -1;
  let starName = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token !== undefined && token.kind !== "any-run" && matchesToken(token, name[n] as string)) {
      t += 1;
      n += 1;
    } else if (token?.kind === "any-run") {
      starToken = t;
      starName = n;
      t += 1;
    } else if (starToken !== -1) {
      t = starToken + 1;
      starName += 1;
      n = starName;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === "any-run") t += 1;
  return t === tokens.length;
}

/** A compiled interface pattern; compile once, match for every interface that appears. */
export class InterfaceGlob {
  private readonly tokens: Token[];
  constructor(readonly pattern: string) {
    this.tokens = parseGlob(pattern);
  }
  matches(name: string): boolean {
    return matchTokens(this.tokens, name);
  }
}

/** Throws InvalidGlobError naming the first bad pattern; used to validate CLI flags up front. */
export function validateGlobs(patterns: readonly string[]): void {
  for (const p of patterns) parseGlob(p);
}

/** Splits a flag value such as `eth*,cali*` into patterns, ignoring blanks around commas. */
export function splitPatternList(value: string): string[] {
  return value
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** True when the name matches some include pattern and no exclude pattern. */
export function matchesInterface(
  name: string,
  include: readonly string[],
  exclude: readonly string[],
): boolean {
  const hit = (patterns: readonly string[]) => patterns.some((p) => new InterfaceGlob(p).matches(name));
  return hit(include) && !hit(exclude);
}
