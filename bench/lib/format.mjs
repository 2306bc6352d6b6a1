// Number formatting and the one printed table. MB = 2^20 bytes throughout.

export const MB = 1024 * 1024;

export const count = (n) => (n === undefined || n === null || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));

export function seconds(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
  const s = ms / 1000;
  return s >= 100 ? `${s.toFixed(0)} s` : s >= 10 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`;
}

export function megabytes(bytes) {
  if (bytes === undefined || bytes === null || Number.isNaN(bytes)) return '—';
  return `${Math.round(bytes / MB).toLocaleString('en-US')} MB`;
}

export function ratio(x) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  return x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

export function millis(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Lays rows out in aligned columns; the last column (notes) is not padded. */
export function renderTable(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) =>
    r
      .map((cell, i) => {
        const text = String(cell ?? '');
        return i === r.length - 1 ? text : text.padEnd(widths[i]);
      })
      .join('   ')
      .trimEnd();
  return all.map(line);
}
