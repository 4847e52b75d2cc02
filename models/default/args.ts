// Command-line arguments of scripts/train-default.ts, and the per-stage settings they ask for.

import { quickSettings } from './pipeline.ts';
import { PipelineError } from './errors.ts';
import { DEFAULT_WORK_DIR, SHIPPED_WEIGHTS_DIR, STAGES, type StageName, type StageSettings } from './workflows.ts';

export interface TrainDefaultArgs {
  quick: boolean;
  out: string;
  work?: string;
  scenes?: number;
  seed: number;
  stages?: StageName[];
  steps?: number;
  lr?: number;
  /** Per-stage overrides from --set, applied over --steps / --lr. */
  set: Partial<Record<StageName, Partial<StageSettings>>>;
  eval: number;
  /** Stages at once (default: the pipeline's, 2 where there are 2 cores). */
  lanes?: number;
  writeWorkflows: boolean;
  backend: 'onnx' | 'tfjs';
}

function fail(message: string): never {
  throw new PipelineError('DEFAULT_BAD_OPTION', `train-default: ${message}`);
}

export function parseArgs(argv: string[]): TrainDefaultArgs {
  const args: TrainDefaultArgs = { quick: false, out: SHIPPED_WEIGHTS_DIR, work: DEFAULT_WORK_DIR, seed: 2023, eval: 0, backend: 'onnx', writeWorkflows: false, set: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => argv[++i] ?? fail(`${flag} needs a value`);
    const int = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) fail(`${flag} needs a non-negative integer`);
      return v;
    };
    switch (flag) {
      case '--quick': args.quick = true; break;
      case '--write-workflows': args.writeWorkflows = true; break;
      case '--out': args.out = value(); break;
      case '--work': args.work = value(); break;
      case '--scenes': args.scenes = int(); break;
      case '--seed': args.seed = int(); break;
      case '--steps': args.steps = int(); break;
      case '--eval': args.eval = int(); break;
      case '--lanes': {
        const n = int();
        if (n < 1) fail('--lanes needs at least 1');
        args.lanes = n;
        break;
      }
      case '--lr': {
        const v = Number(value());
        if (!(v > 0 && v < 1)) fail('--lr needs a learning rate in (0, 1)');
        args.lr = v;
        break;
      }
      case '--backend': {
        const b = value();
        if (b !== 'onnx' && b !== 'tfjs') fail('--backend is onnx or tfjs');
        args.backend = b;
        break;
      }
      case '--set': {
        const m = /^(\w+)\.(steps|batch|lr|warmup)=(.+)$/.exec(value());
        if (!m || !STAGES.includes(m[1] as StageName)) fail(`--set needs STAGE.KEY=VALUE with STAGE one of ${STAGES.join(', ')} and KEY one of steps, batch, lr, warmup`);
        const v = Number(m[3]);
        const key = m[2] as keyof StageSettings;
        if (!(v >= 0) || (key !== 'lr' && !Number.isInteger(v)) || (key === 'lr' && !(v > 0 && v < 1))) fail(`--set ${m[1]}.${key}: bad value '${m[3]}'`);
        const stage = m[1] as StageName;
        args.set[stage] = { ...args.set[stage], [key]: v };
        break;
      }
      case '--stages': {
        const names = value().split(',').map((s) => s.trim());
        for (const n of names) if (!STAGES.includes(n as StageName)) fail(`unknown stage '${n}' (one of ${STAGES.join(', ')})`);
        args.stages = names as StageName[];
        break;
      }
      default: fail(`unknown argument '${flag}'`);
    }
  }
  return args;
}

/** Per-stage overrides: --quick (or --steps / --lr for every stage), then --set for one stage. */
export function stageSettings(args: TrainDefaultArgs): Partial<Record<StageName, Partial<StageSettings>>> {
  const common = { ...(args.steps ? { steps: args.steps } : {}), ...(args.lr ? { lr: args.lr } : {}) };
  const base = args.quick ? quickSettings(args.steps ?? 2) : Object.fromEntries(STAGES.map((s) => [s, common]));
  return Object.fromEntries(STAGES.map((s) => [s, { ...base[s], ...args.set[s] }]));
}
