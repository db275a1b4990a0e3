// The Masking layer's kernel: a step is padding when every one of its features equals maskValue.

/** mask[r] = 1 if any x[r][f] ≠ maskValue (f < features), else 0; x is rows × features. */
export function maskWhereNotValue(x: usize, rows: i32, features: i32, maskValue: f32, mask: usize): void {
  const v = f32x4.splat(maskValue);
  for (let r = 0; r < rows; r++) {
    const row = x + ((<usize>r * <usize>features) << 2);
    let differs = i32x4.splat(0);
    let f = 0;
    for (; f + 4 <= features; f += 4) differs = v128.or(differs, f32x4.ne(v128.load(row + (<usize>f << 2)), v));
    let any = v128.any_true(differs);
    for (; f < features; f++) any = any || load<f32>(row + (<usize>f << 2)) != maskValue;
    store<f32>(mask + (<usize>r << 2), any ? 1 : 0);
  }
}
