// ComfyUI's GET /system_stats, answered truthfully for this server. ComfyUI clients read it at start-up (the
// comfyui-sdk takes `system.os` from it and crashes without it), so every field they read is present.
import os from 'node:os';
import { readFileSync } from 'node:fs';

const version = ((): string => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '';
  } catch {
    return '';
  }
})();

export interface SystemStats {
  system: Record<string, unknown> & { os: 'posix' | 'nt'; ram_total: number; ram_free: number };
  devices: { name: string; type: string; index: number | null; vram_total: number; vram_free: number; torch_vram_total: number; torch_vram_free: number }[];
}

export function systemStats(): SystemStats {
  const ramTotal = os.totalmem();
  const ramFree = os.freemem();
  return {
    system: {
      // Python's os.name, which ComfyUI reports and clients use to pick path separators.
      os: process.platform === 'win32' ? 'nt' : 'posix',
      ram_total: ramTotal,
      ram_free: ramFree,
      kosmos_g_version: version,
      node_version: process.version,
      // No Python or PyTorch runs here; empty strings keep clients that format these fields working. argv is
      // left out on purpose: it may hold the --token.
      python_version: '',
      pytorch_version: '',
      embedded_python: false,
      onnx_execution_provider: process.env.KOSMOS_G_ORT_EP || 'cpu',
    },
    // The models compute in host memory (tfjs CPU/WASM, ONNX Runtime's CPU provider by default): reported the way
    // ComfyUI reports its CPU device, with RAM as the device memory.
    devices: [{ name: 'cpu', type: 'cpu', index: null, vram_total: ramTotal, vram_free: ramFree, torch_vram_total: ramTotal, torch_vram_free: ramFree }],
  };
}
