/**
 * A small decoder-only transformer (token + learned position embeddings, 2
 * pre-norm blocks of causal multi-head attention and a GELU MLP, a final
 * layer norm and a projection to the vocabulary) learns 3-digit + 3-digit
 * addition written as characters, "123+989=2111" (the sum's digits reversed),
 * with jitted Adam steps on the wasm backend; then it answers 1,000 held-out
 * problems by greedy decoding. The same run as
 * `cotangent train --model transformer-addition`.  Run: npx tsx examples/transformer-addition.ts
 */
import * as ct from '../src/index.js';
import { accuracyLine, trainAddition } from '../src/cli/addition.js';

await ct.init({ backend: 'wasm' });
const result = await trainAddition({ seed: 0, log: (line) => console.log(line) });
const { steps, trainSeconds, traces, fusedKernels } = result;
console.log(`trained ${steps} steps in ${trainSeconds.toFixed(1)} s (jit traces: ${traces}, fused kernels run: ${fusedKernels})`);
console.log(accuracyLine(result.correct, result.total));
