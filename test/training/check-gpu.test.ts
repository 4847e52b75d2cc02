// `npm run check:gpu` on a machine where no GPU provider can run (CI's): it says, per provider, what is missing and
// exits 0 — nothing to check is not a failure. Where a provider can start, the script runs its real checks instead
// (minutes on a GPU), so this test skips and says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { providerInstalled } from '../../models/backends/onnx/session.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cudaFiles = providerInstalled('cuda');
// With a Vulkan loader present, WebGPU may find an adapter (even a software one) and start.
const vulkan = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some((f) => existsSync(f));

test('check:gpu without a usable GPU provider names what is missing for each and exits 0', { skip: (cudaFiles || vulkan) && 'a GPU provider may start here: the script would run its real checks' }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'check-gpu.ts'), '--no-real'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /cuda: not available — EP_UNAVAILABLE: .*provider files are missing/);
  assert.match(r.stdout, /webgpu: not available — EP_UNAVAILABLE/);
  assert.match(r.stdout, /no GPU provider can run here/);
});
