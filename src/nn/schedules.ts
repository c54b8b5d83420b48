/**
 * Learning-rate schedules: functions `step -> lr` of the (0-based) number of
 * updates done. Each carries a `describe` string so that an optimiser's
 * configuration (saved in checkpoints) names its schedule.
 */
import { ValueError } from '../tensor/ShapeError.js';

/** A learning-rate schedule: the rate to use at a (0-based) step. */
export type Schedule = (step: number) => number;
/** A learning rate: a constant or a schedule of the step. */
export type LearningRate = number | Schedule;

/** The constant schedule: `lr` at every step. */
export const constant = (lr: number): Schedule => Object.assign(() => lr, { describe: `constant(${lr})` });
/** lr · factor^floor(step / every) */
export const stepDecay = (lr: number, every: number, factor: number): Schedule =>
  Object.assign((s: number) => lr * factor ** Math.floor(s / every), { describe: `stepDecay(${lr}, ${every}, ${factor})` });
/** Cosine decay from lr to `min` over `steps` steps, then constant at `min`. */
export const cosineDecay = (lr: number, steps: number, min = 0): Schedule =>
  Object.assign((s: number) => min + ((lr - min) * (1 + Math.cos((Math.PI * Math.min(s, steps)) / steps))) / 2, {
    describe: `cosineDecay(${lr}, ${steps}, ${min})`,
  });
/** Linear warm-up from 0 over `steps` steps, then the wrapped schedule (shifted so it starts at 0). */
export const warmup = (steps: number, after: LearningRate): Schedule => {
  const f = asSchedule(after);
  return Object.assign((s: number) => (s < steps ? (f(0) * (s + 1)) / steps : f(s - steps)), {
    describe: `warmup(${steps}, ${describeLr(after)})`,
  });
};

/** A learning rate as a schedule (a number becomes `constant`). */
export const asSchedule = (lr: LearningRate): Schedule => (typeof lr === 'number' ? constant(lr) : lr);
/** A learning rate as JSON: the number, or the schedule's description. */
export const describeLr = (lr: LearningRate): string | number =>
  typeof lr === 'number' ? lr : ((lr as { describe?: string }).describe ?? 'custom schedule');

/** Throws a ValueError naming `op` unless a constant rate is finite and ≥ 0 (schedules are not checked). */
export function checkLr(op: string, lr: LearningRate): void {
  if (typeof lr === 'number' && !(lr >= 0 && Number.isFinite(lr)))
    throw new ValueError(op, `learning rate must be a finite number ≥ 0, got ${lr}`);
  if (typeof lr !== 'number' && typeof lr !== 'function')
    throw new ValueError(op, `learning rate must be a number or a schedule (step => lr), got ${typeof lr}`);
}
