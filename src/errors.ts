// Errors meant for a person: the CLI prints their message alone (no stack), so every message names what
// was wrong, where, and what to do about it.

export class WasmgradError extends Error {
  override name = "WasmgradError";
}

/** A file or model description that cannot be used as given. */
export class InputError extends WasmgradError {
  override name = "InputError";
}

/** A command line that cannot mean anything (an empty path, say): exit 2, like an unknown flag. */
export class UsageError extends WasmgradError {
  override name = "UsageError";
}

/** Training produced NaN or Inf; carries where, so the run can stop and say so. */
export class DivergenceError extends WasmgradError {
  override name = "DivergenceError";
}

/** Closest candidate by edit distance, for "did you mean …?" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // A long word is no typo of a short name, and comparing a megabyte-long one would take a while.
  if (word.length > 100) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  const guess = closest(word, candidates);
  return guess ? ` (did you mean '${guess}'?)` : ` (known: ${candidates.join(", ")})`;
}
