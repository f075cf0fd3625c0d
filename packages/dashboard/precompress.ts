import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

// Text assets worth compressing; images and fonts in the bundle are compressed already.
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map)$/;
// Below this a compressed copy saves less than a packet; the server sends the original.
const MIN_BYTES = 1024;

/**
 * Writes `<file>.gz` and `<file>.br` beside every text asset of the build, once, at the highest
 * levels: the server (@fastify/static's `preCompressed`) then picks one by the request's
 * Accept-Encoding without compressing anything per request.
 */
export function precompress(opts: { dir: string }): Plugin {
  let outDir = '';
  return {
    name: 'tally-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir, opts.dir);
    },
    closeBundle() {
      for (const name of readdirSync(outDir)) {
        const file = join(outDir, name);
        if (!COMPRESSIBLE.test(name) || !statSync(file).isFile()) continue;
        const body = readFileSync(file);
        if (body.length < MIN_BYTES) continue;
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
        writeFileSync(
          `${file}.br`,
          brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
        );
      }
    },
  };
}
