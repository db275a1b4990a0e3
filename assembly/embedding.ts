// Embedding kernels: a gather of table rows by index, its adjoint (a scatter-add into the table gradient)
// and the mask Embedding(maskZero) makes. Indices arrive as f32 values of the model input; each must be an
// integer in [0, rows). The gather never reads outside the table: it checks every index, zero-fills the
// output row of a bad one and reports the first bad position, so the layer can name it.
//
// Cost: both passes move count·dim floats and do no arithmetic beyond the adds, so they are memory-bound;
// rows are copied / added four lanes at a time.

/**
 * y[i] = table[indices[i]] (dim floats per row) for i < count. Returns −1 when every index is an integer in
 * [0, rows), else the position of the first that is not (its output row, and every bad one's, is zeros).
 */
export function embeddingGather(indices: usize, count: i32, table: usize, rows: i32, dim: i32, y: usize): i32 {
  let firstBad: i32 = -1;
  const rowBytes = <usize>dim << 2;
  for (let i = 0; i < count; i++) {
    const v = load<f32>(indices + (<usize>i << 2));
    const dst = y + <usize>i * rowBytes;
    // NaN fails both comparisons; the floor test rejects fractions; the range test comes first so the i32
    // conversion below only sees values that fit.
    if (!(v >= 0 && v < <f32>rows) || Mathf.floor(v) != v) {
      if (firstBad < 0) firstBad = i;
      memory.fill(dst, 0, rowBytes);
      continue;
    }
    memory.copy(dst, table + <usize><i32>v * rowBytes, rowBytes);
  }
  return firstBad;
}

/**
 * dtable[indices[i]] += dy[i] for i = 0, 1, …, count − 1 in that order (so repeated indices sum in one fixed
 * order and runs are bit-identical); indices outside [0, rows) or not integers are skipped.
 */
export function embeddingScatterAdd(indices: usize, count: i32, dy: usize, rows: i32, dim: i32, dtable: usize): void {
  const rowBytes = <usize>dim << 2;
  for (let i = 0; i < count; i++) {
    const v = load<f32>(indices + (<usize>i << 2));
    if (!(v >= 0 && v < <f32>rows) || Mathf.floor(v) != v) continue;
    const src = dy + <usize>i * rowBytes;
    const dst = dtable + <usize><i32>v * rowBytes;
    let c = 0;
    for (; c + 4 <= dim; c += 4) {
      const off = <usize>c << 2;
      v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(src + off)));
    }
    for (; c < dim; c++) {
      const off = <usize>c << 2;
      store<f32>(dst + off, load<f32>(dst + off) + load<f32>(src + off));
    }
  }
}

/** mask[i] = indices[i] ≠ 0 ? 1 : 0 (Embedding with maskZero: index 0 is padding). */
export function indexMask(indices: usize, count: i32, mask: usize): void {
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(mask + off, v128.and(f32x4.ne(v128.load(indices + off), zero), one));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(mask + off, load<f32>(indices + off) != 0 ? 1 : 0);
  }
}
