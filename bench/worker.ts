/**
 * Runs one benchmark peer in its own process and prints its result as one
 * JSON line (prefixed `RESULT `): `tsx bench/worker.ts <peer> [adapterKind]`.
 */
import { runCotangent } from './cotangent.js';
import type { PeerResult } from './data.js';
import { runJax } from './jax.js';
import { runTfjs } from './tfjs.js';

const [peer = '', kind = 'llvmpipe'] = process.argv.slice(2);
let result: PeerResult;
try {
  switch (peer) {
    case 'cotangent-cpu':
      result = await runCotangent('cpu');
      break;
    case 'cotangent-wasm':
      result = await runCotangent('wasm');
      break;
    case 'cotangent-webgpu':
      result = await runCotangent('webgpu');
      break;
    case 'tfjs-cpu':
      result = await runTfjs('cpu', kind);
      break;
    case 'tfjs-wasm':
      result = await runTfjs('wasm', kind);
      break;
    case 'tfjs-webgpu':
      result = await runTfjs('webgpu', kind);
      break;
    case 'jax-wasm':
      result = await runJax('wasm', kind, 1);
      break;
    case 'jax-wasm-2t':
      result = await runJax('wasm', kind, 2);
      break;
    case 'jax-webgpu':
      result = await runJax('webgpu', kind);
      break;
    default:
      throw new Error(`unknown peer '${peer}'`);
  }
} catch (e) {
  result = { peer, device: '', matmul: [], mlp: null, error: (e as Error).message.split('\n')[0]! };
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
