// What the command line decided about inputs for the whole run: whether NaN and ±Inf are accepted in
// checkpoint weights and in input arrays (--allow-nonfinite; refused by default, because a model fed
// them prints NaN without a word).

let allowNonFinite = false;

export function setNonFiniteAllowed(allow: boolean): void {
  allowNonFinite = allow;
}

export function nonFiniteAllowed(): boolean {
  return allowNonFinite;
}
