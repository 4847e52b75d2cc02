// Convert a PyTorch checkpoint (e.g. KOSMOS-G's checkpoint_final.pt) to safetensors, reading it as data.
//
//   npx tsx scripts/convert-checkpoint.ts checkpoint_final.pt out.safetensors [options]
//   npx tsx scripts/convert-checkpoint.ts --list checkpoint_final.pt
//
// Options:
//   --key model            where the state dict sits in the checkpoint (default: detected; fairseq uses "model")
//   --include a.,b.        keep only keys with these prefixes (e.g. gpt_model.,img_model.,img_connector.,aligner.)
//   --exclude a.,b.        drop keys with these prefixes (e.g. diffusion_unet.,vae. — SD 1.5 is loaded separately)
//   --dtype f32|f16|bf16   float storage type of the output (default f32)
//
// Exit codes: 0 done, 1 bad checkpoint (TORCH_CKPT_INVALID) or I/O error, 2 bad arguments.

import { convertTorchToSafetensors, listTorchTensors } from '../models/io/pytorch/convert.ts';

const USAGE = 'usage: convert-checkpoint.ts [--key K] [--include P,…] [--exclude P,…] [--dtype f32|f16|bf16] in.pt out.safetensors\n' +
  '       convert-checkpoint.ts --list [--key K] in.pt';

function parse(argv: string[]) {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--list' || a === '--help' || a === '-h') flags[a.replace(/^-+/, '')] = true;
    else if (a.startsWith('--')) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      flags[a.slice(2)] = v;
    } else positional.push(a);
  }
  return { positional, flags };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { positional, flags } = args;
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const key = typeof flags.key === 'string' ? flags.key : undefined;
  const list = (v: string | true | undefined) => (typeof v === 'string' ? v.split(',').filter(Boolean) : undefined);
  const dtypes = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;
  const dtype = flags.dtype === undefined ? undefined : dtypes[String(flags.dtype) as keyof typeof dtypes];
  if (flags.dtype !== undefined && !dtype) {
    console.error(`--dtype must be f32, f16 or bf16\n${USAGE}`);
    return 2;
  }
  try {
    if (flags.list) {
      if (positional.length !== 1) return (console.error(USAGE), 2);
      for (const t of listTorchTensors(positional[0]!, key)) console.log(`${t.name}\t${t.dtype}\t[${t.shape.join(', ')}]`);
      return 0;
    }
    if (positional.length !== 2) return (console.error(USAGE), 2);
    const [input, output] = positional as [string, string];
    const t0 = performance.now();
    const report = await convertTorchToSafetensors(input, output, {
      ...(key === undefined ? {} : { key }),
      ...(list(flags.include) ? { include: list(flags.include)! } : {}),
      ...(list(flags.exclude) ? { exclude: list(flags.exclude)! } : {}),
      ...(dtype ? { floatDType: dtype } : {}),
    });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `wrote ${output}: ${report.tensors} tensors, ${report.parameters.toLocaleString('en')} values` +
        ` (from "${report.key || '<root>'}", ${report.skipped} skipped) in ${secs} s`,
    );
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
