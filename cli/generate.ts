import { Option, type Command } from 'commander';
import { createBackend } from '../src/backend/load.js';
import { PmetalError } from '../src/errors.js';
import { generateText, type GenerateStats } from '../src/models/generate_text.js';
import { loadModel } from '../src/models/load.js';
import { TextTokenizer } from '../src/models/tokenizer.js';
import { list } from './options.js';

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new PmetalError('OPTIONS', `[cli] ${name}: expected an integer ≥ ${min}, got '${v}'`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new PmetalError('OPTIONS', `[cli] ${name}: expected a number, got '${v}'`);
  return n;
};

/**
 * `pmetal generate`: a Hugging Face model folder (or a .gguf file with --tokenizer) and a
 * prompt; streams the text to stdout and reports prefill and decode tokens/s on stderr.
 */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text from a model folder (config.json + safetensors) or a GGUF file, streaming it')
    .requiredOption('--model <path>', 'model folder, or a .gguf file')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--chat', 'send the prompt as a user message through the chat template')
    .option('--tokenizer <dir>', 'folder with tokenizer.json (+ tokenizer_config.json); default: the model folder')
    .option('--adapter <dir>', 'a PEFT LoRA adapter folder, merged on load')
    .addOption(new Option('--backend <name>', 'backend').choices(['cpu', 'webgpu', 'metal']).default('webgpu'))
    .addOption(new Option('--dtype <dtype>', 'compute dtype').choices(['f32', 'f16', 'bf16']).default('f32'))
    .option('--max-tokens <n>', 'new tokens at most', int('--max-tokens', 1), 128)
    .option('--temperature <t>', '0 is greedy', num('--temperature'), 0.7)
    .option('--top-p <p>', 'nucleus sampling', num('--top-p'), 1)
    .option('--top-k <k>', '0 keeps every token', int('--top-k', 0), 0)
    .option('--seed <s>', 'sampling seed', int('--seed', 0), 0)
    .addOption(new Option('--stop <list>', 'stop strings, comma separated').argParser(list))
    .addOption(new Option('--toggles <list>', 'Dawn toggles, comma separated').argParser(list))
    .action(async (o) => {
      const backend = await createBackend(o.backend, { webgpu: { toggles: o.toggles ?? [] }, metal: {} });
      try {
        const tokDir = o.tokenizer ?? (String(o.model).endsWith('.gguf') ? undefined : o.model);
        if (!tokDir) throw new PmetalError('OPTIONS', '[cli] --tokenizer: a .gguf model needs the folder of its tokenizer.json');
        const tok = await TextTokenizer.load(tokDir);
        const model = await loadModel(o.model, backend, { dtype: o.dtype, ...(o.adapter ? { adapter: o.adapter } : {}) });
        try {
          const stats = {} as GenerateStats;
          const prompt = o.chat ? [{ role: 'user' as const, content: String(o.prompt) }] : String(o.prompt);
          const options = { maxNewTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, topK: o.topK, seed: o.seed, stop: o.stop ?? [] };
          for await (const delta of generateText(model, tok, prompt, options, stats)) process.stdout.write(delta);
          process.stdout.write('\n');
          const prefill = stats.firstToken - stats.start;
          const decode = stats.end - stats.firstToken;
          process.stderr.write(`prefill: ${stats.promptTokens} tokens in ${prefill.toFixed(1)} ms (${((stats.promptTokens / prefill) * 1000).toFixed(1)} tokens/s)\n`);
          if (stats.newTokens > 1) process.stderr.write(`decode: ${stats.newTokens - 1} tokens in ${decode.toFixed(1)} ms (${(((stats.newTokens - 1) / decode) * 1000).toFixed(1)} tokens/s)\n`);
        } finally {
          model.dispose();
        }
      } finally {
        backend.dispose();
      }
    });
}
