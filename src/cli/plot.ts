/**
 * The training plot: a hand-written SVG with two panels (loss and accuracy
 * per epoch), one polyline per series (train, test), axes, ticks and a
 * legend. No plotting dependency.
 */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmtTick = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

function panel(title: string, series: readonly Series[], x0: number, y0: number, w: number, h: number, fixed?: [number, number]): string {
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  let lo = fixed ? fixed[0] : Math.min(...all, Infinity);
  let hi = fixed ? fixed[1] : Math.max(...all, -Infinity);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const n = Math.max(...series.map((s) => s.values.length), 1);
  const m = { l: 56, r: 12, t: 28, b: 36 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const px = (i: number) => x0 + m.l + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const py = (v: number) => y0 + m.t + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + 18}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<rect x="${x0 + m.l}" y="${y0 + m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    const y = py(v);
    parts.push(`<line x1="${x0 + m.l}" x2="${x0 + m.l + pw}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${x0 + m.l - 6}" y="${y + 4}" text-anchor="end" font-size="11">${fmtTick(v)}</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 10));
  for (let i = 0; i < n; i += step)
    parts.push(`<text x="${px(i)}" y="${y0 + m.t + ph + 16}" text-anchor="middle" font-size="11">${i + 1}</text>`);
  parts.push(`<text x="${x0 + m.l + pw / 2}" y="${y0 + h - 4}" text-anchor="middle" font-size="12">epoch</text>`);
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    if (s.values.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"/>`);
    s.values.forEach((v, i) => {
      parts.push(`<circle cx="${px(i).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    });
    const ly = y0 + m.t + 14 + 16 * k;
    parts.push(
      `<line x1="${x0 + m.l + pw - 90}" x2="${x0 + m.l + pw - 70}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${x0 + m.l + pw - 65}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** Two side-by-side panels: loss and accuracy (in %). */
export function trainingPlot(title: string, loss: readonly Series[], accuracy: readonly Series[]): string {
  const W = 900;
  const H = 360;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    panel('loss', loss, 0, 24, W / 2, H - 24),
    panel('accuracy (%)', accuracy, W / 2, 24, W / 2, H - 24),
    '</svg>',
    '',
  ].join('\n');
}
