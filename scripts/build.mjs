// Bundles the library (dist/index.js) and the CLI (dist/cli.js) with esbuild. Runtime
// dependencies (webgpu, zod) stay external; commander is bundled into the CLI.
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';

rmSync('dist', { recursive: true, force: true });

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning' };
const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
// `pmetal bench --peers` loads the peers (onnxruntime-web, tfjs) from their own bundle, dist/peers.js.
const peersExternal = {
  name: 'peers-external',
  setup(b) {
    b.onResolve({ filter: /bench\/peers\/index\.js$/ }, () => ({ path: './peers.js', external: true }));
  },
};
await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', external: ['webgpu', 'zod', '@huggingface/tokenizers', '@huggingface/jinja'] });
await build({ ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/cli.js', external: ['webgpu', 'zod', '@huggingface/tokenizers', '@huggingface/jinja'], banner, plugins: [peersExternal] });

// The peers bundle carries onnxruntime-web and tfjs (devDependencies) inside, so a GPU machine
// needs no more packages than the CLI; ORT's one wasm (WebGPU build) goes next to it, brotli'd.
const ortWasm = 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm';
if (existsSync('node_modules/onnxruntime-web') && existsSync('node_modules/@tensorflow/tfjs-backend-webgpu')) {
  await build({ ...common, sourcemap: false, minify: true, entryPoints: ['bench/peers/index.ts'], outfile: 'dist/peers.js', external: ['webgpu', 'zod'], banner });
  const wasm = readFileSync(ortWasm);
  writeFileSync('dist/ort-wasm-simd-threaded.asyncify.wasm.br', brotliCompressSync(wasm, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: wasm.length } }));
}
