/**
 * safetensors and checkpoints: round trips (params, optimiser state,
 * architecture), validation of corrupt files, mismatched architectures named
 * by parameter, and atomic writes.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadOptState,
  loadParams,
  readCheckpoint,
  restoreModel,
  saveCheckpoint,
  writeFileAtomic,
} from '../../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cotangent-ckpt-'));
const model = nn.serial(nn.reshape([4, 4, 1]), nn.conv2d(2, 3, { padding: 'same' }), nn.relu, nn.flatten, nn.dense(3));
const right = <A>(e: E.Either<Error, A>): A => {
  if (E.isLeft(e)) throw e.left;
  return e.right;
};

describe('safetensors', () => {
  it('round-trips tensors of every dtype and the metadata; the header is 8-byte aligned', () => {
    const bytes = encodeSafetensors(
      [
        ['a', { dtype: 'f32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }],
        ['b', { dtype: 'f64', shape: [1], data: Float64Array.from([Math.PI]) }],
        ['c', { dtype: 'i32', shape: [3], data: Int32Array.from([-1, 0, 7]) }],
      ],
      { hello: 'world' },
    );
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + hlen) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + hlen)).toString());
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    const st = right(E.mapLeft((m: string) => new Error(m))(decodeSafetensors(bytes)));
    expect(Array.from(st.tensors.get('c')!.data)).toEqual([-1, 0, 7]);
    expect(st.tensors.get('b')!.data[0]).toBe(Math.PI);
    expect(st.metadata).toEqual({ hello: 'world' });
  });

  it('rejects corrupt files with a description of the problem', () => {
    const good = encodeSafetensors([['a', { dtype: 'f32', shape: [2], data: Float32Array.from([1, 2]) }]], {});
    const msg = (b: Uint8Array) => {
      const r = decodeSafetensors(b);
      return E.isLeft(r) ? r.left : 'ok';
    };
    expect(msg(good.subarray(0, 4))).toMatch(/truncated/);
    expect(msg(good.subarray(0, good.length - 2))).toMatch(/tensor 'a': data_offsets \[0, 8\] outside the 6 data bytes/);
    const bad = Uint8Array.from(good);
    bad[bad.indexOf('F'.charCodeAt(0))] = 'X'.charCodeAt(0);
    expect(msg(bad)).toMatch(/tensor 'a': .*X32/);
    const huge = Uint8Array.from(good);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(msg(huge)).toMatch(/header length .* exceeds the file size/);
  });
});

describe('checkpoints', () => {
  it('save and load round-trip parameters, optimiser state and architecture', async () => {
    const { params } = model.init(nn.random.key(0), [-1, 16]);
    const opt = nn.adam(0.01);
    let state = opt.init(params);
    const g = ct.grad((p: typeof params) => ct.sum(model.apply(p, ct.ones([2, 16]))))(params);
    const u = opt.update(g, state, params);
    state = u.state;
    const file = await saveCheckpoint(join(dir, 'run'), {
      params: u.params,
      model,
      inputShape: [-1, 16],
      optimizer: opt,
      optState: state,
      classes: ['a', 'b', 'c'],
    });
    expect(file).toBe(join(dir, 'run', 'model.safetensors'));
    expect(readdirSync(join(dir, 'run'))).toEqual(['model.safetensors']); // no temp file left behind
    const ck = right(readCheckpoint(join(dir, 'run')));
    expect(ck.meta.classes).toEqual(['a', 'b', 'c']);
    expect(ck.meta.optimizer!.config.name).toBe('adam');
    const loaded = right(loadParams(ck, params));
    expect(Array.from(loaded[4].W.dataSync())).toEqual(Array.from(u.params[4].W.dataSync()));
    const os = right(loadOptState(ck, params))!;
    expect(os.step).toBe(1);
    expect(Array.from((os.slots.m as typeof params)[1].W.dataSync())).toEqual(Array.from((state.slots.m as typeof params)[1].W.dataSync()));
    const r = right(restoreModel(ck));
    const x = nn.random.normal(nn.random.key(3), [2, 16]);
    expect(Array.from((r.model.apply(r.params, x) as ct.Tensor).dataSync())).toEqual(Array.from(model.apply(u.params, x).dataSync()));
  });

  it('loading into a different architecture fails naming the mismatched parameter', async () => {
    const { params } = model.init(nn.random.key(0), [-1, 16]);
    await saveCheckpoint(join(dir, 'm.safetensors'), { params });
    const ck = right(readCheckpoint(join(dir, 'm.safetensors')));
    const other = nn.serial(nn.reshape([4, 4, 1]), nn.conv2d(3, 3, { padding: 'same' }), nn.relu, nn.flatten, nn.dense(3));
    const r = loadParams(ck, other.init(nn.random.key(0), [-1, 16]).params);
    expect(E.isLeft(r) && r.left.message).toMatch(
      /m\.safetensors: parameter '1\.W' has shape \[3,3,1,2\] in the checkpoint but \[3,3,1,3\] in the model/,
    );
    const fewer = nn.serial(nn.reshape([4, 4, 1]), nn.conv2d(2, 3, { padding: 'same' }), nn.relu, nn.flatten);
    const r2 = loadParams(ck, fewer.init(nn.random.key(0), [-1, 16]).params);
    expect(E.isLeft(r2) && r2.left.message).toMatch(/parameter '4\.W' in the checkpoint has no place in the model/);
    expect(E.isLeft(restoreModel(ck)) && (restoreModel(ck) as E.Left<Error>).left.message).toMatch(/no architecture description/);
  });

  it('invalid metadata and missing files are Left values with clear messages', () => {
    writeFileSync(join(dir, 'foreign.safetensors'), encodeSafetensors([], { format: 'other' }));
    const r = readCheckpoint(join(dir, 'foreign.safetensors'));
    expect(E.isLeft(r) && r.left.message).toMatch(/foreign\.safetensors: invalid cotangent metadata/);
    writeFileSync(
      join(dir, 'badarch.safetensors'),
      encodeSafetensors([], { format: 'cotangent', version: '1', architecture: '{"layers":3}' }),
    );
    expect(E.isLeft(readCheckpoint(join(dir, 'badarch.safetensors')))).toBe(true);
    const m = readCheckpoint(join(dir, 'nothing-here'));
    expect(E.isLeft(m) && m.left.message).toMatch(/nothing-here\/model\.safetensors: file not found/);
  });

  it('atomic writes replace the whole file or nothing', () => {
    const f = join(dir, 'atomic.txt');
    writeFileAtomic(f, 'first');
    writeFileAtomic(f, 'second');
    expect(readFileSync(f, 'utf8')).toBe('second');
    // a failing write (the target is a directory) leaves no temp file and no partial target
    expect(() => writeFileAtomic(dir, 'x')).toThrow();
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(existsSync(f)).toBe(true);
  });
});
