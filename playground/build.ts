/**
 * Builds the playground page into a folder of static files (index.html, main.js
 * bundled by esbuild, main.css, the gzipped digits) and serves it on localhost.
 *
 *   npm run playground                      # build into out/playground and serve (prints the URL)
 *   npm run playground:build                # only write the static files (for hosting, and for the test)
 *   tsx playground/build.ts [--build-only] [--out DIR] [--port N] [--host H]
 *
 * The server sends the cross-origin isolation headers (COOP/COEP), so that the
 * wasm backend may run on worker threads; a static host without them still works,
 * single-threaded.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');

/** Where `npm run playground` writes the page. */
export const DEFAULT_OUT = join(ROOT, 'out', 'playground');

/**
 * Node built-ins imported statically by library modules the page uses only in part (the CSV parser's module also
 * reads files): each becomes a module whose functions throw, naming what the page tried to call. Dynamic imports of
 * built-ins stay external, as the library guards them where they run.
 */
const nodeStubs: Plugin = {
  name: 'node-builtins-stub',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' ? { path: args.path, namespace: 'node-stub' } : { path: args.path, external: true },
    );
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      const lines = names.map((n) => `export const ${n} = () => { throw new Error('${args.path} ${n}: not available in the browser'); };`);
      return { contents: `${lines.join('\n')}\nexport default {};\n`, loader: 'js' };
    });
  },
};

/** Bundle the page and copy its static files into `outDir` (created); returns `outDir`. */
export async function buildPlayground(outDir: string = DEFAULT_OUT): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(HERE, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    outfile: join(outDir, 'main.js'),
    // the Node WebGPU binding is imported (dynamically) only in Node
    external: ['webgpu'],
    plugins: [nodeStubs],
    logLevel: 'warning',
  });
  const require = createRequire(import.meta.url);
  const uplotCss = join(dirname(require.resolve('uplot/package.json')), 'dist', 'uPlot.min.css');
  writeFileSync(join(outDir, 'main.css'), `${readFileSync(uplotCss, 'utf8')}\n${readFileSync(join(HERE, 'style.css'), 'utf8')}`);
  copyFileSync(join(HERE, 'index.html'), join(outDir, 'index.html'));
  copyFileSync(join(ROOT, 'data', 'digits.csv.gz'), join(outDir, 'digits.csv.gz'));
  copyFileSync(join(ROOT, 'data', 'DIGITS-LICENSE.md'), join(outDir, 'DIGITS-LICENSE.md'));
  return outDir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.md': 'text/markdown; charset=utf-8',
  '.gz': 'application/gzip',
};

/**
 * Serve the files of `dir` (GET only, nothing outside it) on `host:port` (port 0: any free one); the server and its
 * URL. Responses carry the cross-origin isolation headers, or with `isolated` only those to the requests it accepts.
 */
export async function servePlayground(
  dir: string,
  port = 0,
  host = '127.0.0.1',
  isolated: (url: URL) => boolean = () => true,
): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    let url: URL;
    let path: string;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
      path = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request');
      return;
    }
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!(file === root || file.startsWith(root + sep)) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      // no icon: an empty answer, not an error in the page's console
      if (path === '/favicon.ico') res.writeHead(204).end();
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      // cross-origin isolated: SharedArrayBuffer, so the wasm backend may use worker threads
      ...(isolated(url) ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  const addr = server.address() as { port: number };
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/` };
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`playground: ${name} needs a value`);
  return v;
}

async function main(args: string[]): Promise<void> {
  const known = new Set(['--build-only', '--out', '--port', '--host', '--help']);
  for (const a of args) if (a.startsWith('--') && !known.has(a)) throw new Error(`playground: unknown flag ${a} (see --help)`);
  if (args.includes('--help')) {
    console.log('usage: tsx playground/build.ts [--build-only] [--out DIR] [--port N (default 8080)] [--host H (default 127.0.0.1)]');
    return;
  }
  const out = resolve(flag(args, '--out') ?? DEFAULT_OUT);
  const t0 = performance.now();
  await buildPlayground(out);
  console.log(`playground: built ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (args.includes('--build-only')) return;
  const port = Number(flag(args, '--port') ?? 8080);
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error(`playground: --port must be an integer in [0, 65535]`);
  const { url } = await servePlayground(out, port, flag(args, '--host') ?? '127.0.0.1');
  console.log(`playground: serving at ${url} (Ctrl-C stops)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
