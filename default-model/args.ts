// Command-line arguments of scripts/train-default.ts, and the per-stage settings they ask for.

import { quickSettings } from './pipeline.ts';
import { PipelineError } from './errors.ts';
import { DEFAULT_WORK_DIR, SETTING_KEYS, SHIPPED_WEIGHTS_DIR, STAGES, type StageName, type StageSettings } from './workflows.ts';

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
  /** Score an existing weights folder (--out) on N held-out items per task and rewrite its card; no training. */
  rescore: number;
  /** Stages at once (default: the pipeline's, 2 where there are 2 cores). */
  lanes?: number;
  writeWorkflows: boolean;
  /** Continue the selected stages from their last checkpoints in the work folder (e.g. with more steps). */
  resume: boolean;
  backend: 'onnx' | 'tfjs';
}

function fail(message: string): never {
  throw new PipelineError('DEFAULT_BAD_OPTION', `train-default: ${message}`);
}

export function parseArgs(argv: string[]): TrainDefaultArgs {
  const args: TrainDefaultArgs = { quick: false, out: SHIPPED_WEIGHTS_DIR, work: DEFAULT_WORK_DIR, seed: 2023, eval: 0, rescore: 0, backend: 'onnx', writeWorkflows: false, resume: false, set: {} };
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
      case '--resume': args.resume = true; break;
      case '--out': args.out = value(); break;
      case '--work': args.work = value(); break;
      case '--scenes': args.scenes = int(); break;
      case '--seed': args.seed = int(); break;
      case '--steps': args.steps = int(); break;
      case '--eval': args.eval = int(); break;
      case '--rescore': args.rescore = int(); break;
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
        const keys = Object.keys(SETTING_KEYS).join(', ');
        const m = /^(\w+)\.(\w+)=(.+)$/.exec(value());
        if (!m || !STAGES.includes(m[1] as StageName) || !(m[2]! in SETTING_KEYS)) fail(`--set needs STAGE.KEY=VALUE with STAGE one of ${STAGES.join(', ')} and KEY one of ${keys}`);
        const [, stage, key, text] = m as unknown as [string, StageName, keyof typeof SETTING_KEYS, string];
        const v = Number(text);
        if (!settingValueOk(stage, key, v)) fail(`--set ${stage}.${key}: bad value '${text}' (${SETTING_RULES[key]})`);
        args.set[stage] = { ...args.set[stage], [SETTING_KEYS[key]]: v };
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
  if (args.resume && !args.stages) fail('--resume continues some stages of an earlier run: name them with --stages');
  return args;
}

const SETTING_RULES: Record<keyof typeof SETTING_KEYS, string> = {
  steps: 'an integer ≥ 0',
  batch: 'an integer ≥ 0',
  warmup: 'an integer ≥ 0',
  lr: 'a learning rate in (0, 1)',
  offset_noise: 'in [0, 1], for the unet and stage3 stages',
  align: 'a share of steps in [0, 1), for stage3',
  align_images: 'a share of steps in [0, 1), for stage3',
  align_edits: 'a share of steps in [0, 1), for stage3',
  scene_weight: 'a mix weight in (0, 100], for stage1',
  ema: 'a moving-average decay in [0, 1) (0: off)',
  every: 'an integer ≥ 0 (checkpoint every N steps, all kept; 0: only the last)',
  train_text: '0 or 1, for the unet stage',
  train_vision: '0 or 1, for stage1',
};

function settingValueOk(stage: StageName, key: keyof typeof SETTING_KEYS, v: number): boolean {
  switch (key) {
    case 'lr': return v > 0 && v < 1;
    case 'offset_noise': return (stage === 'unet' || stage === 'stage3') && v >= 0 && v <= 1;
    case 'align': case 'align_images': case 'align_edits': return stage === 'stage3' && v >= 0 && v < 1;
    case 'scene_weight': return stage === 'stage1' && v > 0 && v <= 100;
    case 'ema': return v >= 0 && v < 1;
    case 'train_text': return stage === 'unet' && (v === 0 || v === 1);
    case 'train_vision': return stage === 'stage1' && (v === 0 || v === 1);
    default: return Number.isInteger(v) && v >= 0;
  }
}

/** Per-stage overrides: --quick (or --steps / --lr for every stage), then --set for one stage. */
export function stageSettings(args: TrainDefaultArgs): Partial<Record<StageName, Partial<StageSettings>>> {
  const common = { ...(args.steps ? { steps: args.steps } : {}), ...(args.lr ? { lr: args.lr } : {}) };
  const base = args.quick ? quickSettings(args.steps ?? 2) : Object.fromEntries(STAGES.map((s) => [s, common]));
  return Object.fromEntries(STAGES.map((s) => [s, { ...base[s], ...args.set[s] }]));
}
