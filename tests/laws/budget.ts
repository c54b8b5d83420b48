/**
 * Run budgets for the law suites: the CI numbers, scaled by env FC_SCALE
 * (`npm run fuzz` runs the same suites longer).
 */
export const scale = Number(process.env.FC_SCALE ?? 1);
export const runs = (n: number): number => Math.max(1, Math.round(n * scale));
