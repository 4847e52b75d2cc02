#!/usr/bin/env python3
"""PyTorch timing baseline for bench/training (optional).

Run with:  python3 bench/training/torch_unet_step.py [--threads 1,2] [--steps 10] [--expect N]
           python3 bench/training/torch_unet_step.py --real [--threads 2]

What it is
----------
A small, self-contained re-implementation in PyTorch of the U-Net architecture
the project uses (diffusers' ``UNet2DConditionModel`` layout: ResNet blocks with
time-embedding injection, Transformer2D blocks with self-attention,
cross-attention and a GEGLU feed-forward, a cross-attention mid block, strided
conv downsampling and nearest x2 + conv upsampling).  It was written from the
architecture description, not copied from diffusers, and parameter names follow
diffusers' state-dict keys so they can be compared 1:1 with the project's
``UNet2DConditionModel.namedParameters()``.

It exists only to give the TypeScript training benches a reference number:
"how long does one CPU training step of the same network take in PyTorch?".
Nothing in the project imports or needs it; it depends on torch (and the
standard library) only.  Without torch it prints a note to stderr and exits
with status 3, so callers can treat it as "baseline unavailable".
On Debian the packaged torch (python3-torch) lives in the system interpreter's
dist-packages: run it with /usr/bin/python3 if another python3 comes first on PATH.

Modes
-----
default   The project's default U-Net (default-model/config.ts, DEFAULT_UNET),
          batch 8, sample [8,4,16,16], context [8,24,64].  Times
            * train_s:      forward + loss + backward into all parameters;
            * input_grad_s: same, but all parameters frozen and only the
                            ``context`` tensor requiring a gradient.
--real    Stable Diffusion 1.5 sized U-Net (859,520,964 parameters), batch 1,
          sample [1,4,32,32], context [1,77,768].  Times the frozen
          input-gradient step and a forward pass under torch.no_grad(), and
          reports peak RSS.

Output: exactly one JSON line on stdout (human-readable notes go to stderr).
Loss: per-sample mean squared error of the U-Net output against a random
target, averaged over the batch.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from dataclasses import dataclass, field

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # optional baseline: no torch, no numbers
    print("torch_unet_step.py: torch is not installed; skipping the PyTorch baseline", file=sys.stderr)
    sys.exit(3)


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@dataclass
class UNetConfig:
    """Subset of diffusers' UNet2DConditionModel config that this model honours."""

    in_channels: int = 4
    out_channels: int = 4
    block_out_channels: list[int] = field(default_factory=lambda: [32, 64, 128])
    layers_per_block: int = 1
    down_block_types: list[str] = field(
        default_factory=lambda: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    )
    up_block_types: list[str] = field(
        default_factory=lambda: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    )
    cross_attention_dim: int = 64
    # Number of attention heads (SD 1.5 semantics of diffusers' misnamed
    # `attention_head_dim`; the project calls it `attentionHeads`).
    attention_heads: int = 4
    norm_num_groups: int = 8
    norm_eps: float = 1e-5
    flip_sin_to_cos: bool = True
    freq_shift: int = 0


# The project's default U-Net (default-model/config.ts -> DEFAULT_UNET).
DEFAULT_CONFIG = UNetConfig()

# Stable Diffusion 1.5's U-Net.
SD15_CONFIG = UNetConfig(
    block_out_channels=[320, 640, 1280, 1280],
    layers_per_block=2,
    down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    cross_attention_dim=768,
    attention_heads=8,
    norm_num_groups=32,
)
SD15_PARAMS = 859_520_964


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------


def sinusoidal_timestep_embedding(
    timesteps: torch.Tensor, dim: int, flip_sin_to_cos: bool, freq_shift: float
) -> torch.Tensor:
    """[B] timesteps -> [B, dim] sin/cos features (transformer-style, max period 10000)."""
    half = dim // 2
    exponent = -math.log(10000.0) * torch.arange(half, dtype=torch.float32) / (half - freq_shift)
    args = timesteps.float()[:, None] * torch.exp(exponent)[None, :]
    sin, cos = torch.sin(args), torch.cos(args)
    emb = torch.cat([cos, sin], dim=-1) if flip_sin_to_cos else torch.cat([sin, cos], dim=-1)
    if dim % 2 == 1:  # pad odd dims with a zero column
        emb = F.pad(emb, (0, 1))
    return emb


class TimestepEmbedding(nn.Module):
    """Linear -> SiLU -> Linear MLP on the sinusoidal features."""

    def __init__(self, in_dim: int, embed_dim: int):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, embed_dim)
        self.linear_2 = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    """GroupNorm/SiLU/conv x2 with an additive time-embedding bias in between."""

    def __init__(self, in_ch: int, out_ch: int, temb_dim: int, groups: int, eps: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch, eps=eps)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch, eps=eps)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        # 1x1 projection of the residual when the channel count changes.
        self.conv_shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        skip = self.conv_shortcut(x) if self.conv_shortcut is not None else x
        return skip + h


class Attention(nn.Module):
    """Multi-head scaled dot-product attention (q/k/v without bias, biased output)."""

    def __init__(self, query_dim: int, context_dim: int | None, heads: int):
        super().__init__()
        context_dim = context_dim or query_dim
        self.heads = heads
        self.head_dim = query_dim // heads
        self.scale = self.head_dim ** -0.5
        self.to_q = nn.Linear(query_dim, query_dim, bias=False)
        self.to_k = nn.Linear(context_dim, query_dim, bias=False)
        self.to_v = nn.Linear(context_dim, query_dim, bias=False)
        # diffusers stores the output as a ModuleList [Linear, Dropout] -> key "to_out.0".
        self.to_out = nn.ModuleList([nn.Linear(query_dim, query_dim), nn.Dropout(0.0)])

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        # [B, N, H*D] -> [B*H, N, D]
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, self.head_dim).permute(0, 2, 1, 3).reshape(b * self.heads, n, self.head_dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        ctx = x if context is None else context
        q, k, v = self._split(self.to_q(x)), self._split(self.to_k(ctx)), self._split(self.to_v(ctx))
        # torch 1.13 has no fused scaled_dot_product_attention; do it explicitly.
        weights = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * self.scale, dim=-1)
        out = torch.bmm(weights, v)  # [B*H, N, D]
        b = x.shape[0]
        out = out.reshape(b, self.heads, -1, self.head_dim).permute(0, 2, 1, 3).reshape(b, -1, self.heads * self.head_dim)
        for layer in self.to_out:
            out = layer(out)
        return out


class GEGLU(nn.Module):
    """Linear to 2*inner, split into value and gate, value * GELU(gate)."""

    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    """GEGLU -> Dropout -> Linear; inner width 4*dim (keys ff.net.0.proj / ff.net.2)."""

    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        inner = dim * mult
        self.net = nn.ModuleList([GEGLU(dim, inner), nn.Dropout(0.0), nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    """Pre-LayerNorm self-attention, cross-attention and feed-forward, each residual."""

    def __init__(self, dim: int, heads: int, context_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, None, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        x = x + self.ff(self.norm3(x))
        return x


class Transformer2DModel(nn.Module):
    """GroupNorm + 1x1 conv in, flatten to tokens, transformer block(s), 1x1 conv out, residual."""

    def __init__(self, channels: int, heads: int, context_dim: int, groups: int, depth: int = 1):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)  # use_linear_projection = False
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(channels, heads, context_dim) for _ in range(depth)]
        )
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        for block in self.transformer_blocks:
            tokens = block(tokens, context)
        out = self.proj_out(tokens.reshape(b, h, w, c).permute(0, 3, 1, 2))
        return out + x


class Downsample2D(nn.Module):
    """3x3 conv, stride 2, padding 1."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample2D(nn.Module):
    """Nearest-neighbour x2 (or to an explicit size) followed by a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="nearest")
        return self.conv(x)


class DownBlock(nn.Module):
    """Down block: `layers` ResNets (each optionally followed by a Transformer2D), then a downsampler.

    Returns the block output and the list of skip activations it contributes.
    """

    def __init__(self, cfg: UNetConfig, in_ch: int, out_ch: int, temb_dim: int, cross: bool, add_down: bool):
        super().__init__()
        g, e = cfg.norm_num_groups, cfg.norm_eps
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(in_ch if i == 0 else out_ch, out_ch, temb_dim, g, e) for i in range(cfg.layers_per_block)]
        )
        self.attentions = (
            nn.ModuleList(
                [Transformer2DModel(out_ch, cfg.attention_heads, cfg.cross_attention_dim, g) for _ in range(cfg.layers_per_block)]
            )
            if cross
            else None
        )
        self.downsamplers = nn.ModuleList([Downsample2D(out_ch)]) if add_down else None

    def forward(self, x, temb, context):
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    """Up block: `layers + 1` ResNets, each consuming one skip (concat on channels), then an upsampler."""

    def __init__(
        self, cfg: UNetConfig, prev_ch: int, out_ch: int, skip_in_ch: int, temb_dim: int, cross: bool, add_up: bool
    ):
        super().__init__()
        g, e = cfg.norm_num_groups, cfg.norm_eps
        n = cfg.layers_per_block + 1
        resnets = []
        for i in range(n):
            # The last resnet consumes the skip that entered the matching down block.
            skip_ch = skip_in_ch if i == n - 1 else out_ch
            res_in = prev_ch if i == 0 else out_ch
            resnets.append(ResnetBlock2D(res_in + skip_ch, out_ch, temb_dim, g, e))
        self.resnets = nn.ModuleList(resnets)
        self.attentions = (
            nn.ModuleList([Transformer2DModel(out_ch, cfg.attention_heads, cfg.cross_attention_dim, g) for _ in range(n)])
            if cross
            else None
        )
        self.upsamplers = nn.ModuleList([Upsample2D(out_ch)]) if add_up else None

    def forward(self, x, skips, temb, context, upsample_size=None):
        for i, resnet in enumerate(self.resnets):
            x = torch.cat([x, skips.pop()], dim=1)
            x = resnet(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x, context)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, upsample_size)
        return x


class MidBlock2DCrossAttn(nn.Module):
    """ResNet -> Transformer2D -> ResNet at the lowest resolution."""

    def __init__(self, cfg: UNetConfig, ch: int, temb_dim: int):
        super().__init__()
        g, e = cfg.norm_num_groups, cfg.norm_eps
        # Registration order (resnets first) matches the project's namedParameters() order.
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, temb_dim, g, e), ResnetBlock2D(ch, ch, temb_dim, g, e)])
        self.attentions = nn.ModuleList([Transformer2DModel(ch, cfg.attention_heads, cfg.cross_attention_dim, g)])

    def forward(self, x, temb, context):
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, context)
        return self.resnets[1](x, temb)


class UNet2DConditionModel(nn.Module):
    """The conditional U-Net: conv_in, time embedding, down path, mid block, up path, norm/SiLU/conv_out."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        ch = cfg.block_out_channels
        temb_dim = ch[0] * 4
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb_dim)

        self.down_blocks = nn.ModuleList()
        out_ch = ch[0]
        for i, kind in enumerate(cfg.down_block_types):
            in_ch, out_ch = out_ch, ch[i]
            last = i == len(ch) - 1
            self.down_blocks.append(
                DownBlock(cfg, in_ch, out_ch, temb_dim, cross=kind.startswith("CrossAttn"), add_down=not last)
            )

        self.mid_block = MidBlock2DCrossAttn(cfg, ch[-1], temb_dim)

        self.up_blocks = nn.ModuleList()
        rev = list(reversed(ch))
        out_ch = rev[0]
        for i, kind in enumerate(cfg.up_block_types):
            prev_ch, out_ch = out_ch, rev[i]
            skip_in_ch = rev[min(i + 1, len(ch) - 1)]
            last = i == len(ch) - 1
            self.up_blocks.append(
                UpBlock(cfg, prev_ch, out_ch, skip_in_ch, temb_dim, cross=kind.startswith("CrossAttn"), add_up=not last)
            )

        self.conv_norm_out = nn.GroupNorm(cfg.norm_num_groups, ch[0], eps=cfg.norm_eps)
        self.conv_out = nn.Conv2d(ch[0], cfg.out_channels, 3, padding=1)

    def forward(self, sample: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        t = sinusoidal_timestep_embedding(timesteps, cfg.block_out_channels[0], cfg.flip_sin_to_cos, cfg.freq_shift)
        temb = self.time_embedding(t.to(sample.dtype))

        x = self.conv_in(sample)
        skips = [x]
        for block in self.down_blocks:
            x, block_skips = block(x, temb, context)
            skips.extend(block_skips)

        x = self.mid_block(x, temb, context)

        n = self.cfg.layers_per_block + 1
        for i, block in enumerate(self.up_blocks):
            block_skips, skips = skips[-n:], skips[:-n]
            # Upsample to the spatial size of the next skip (handles odd sizes).
            up_size = tuple(skips[-1].shape[-2:]) if skips else None
            x = block(x, block_skips, temb, context, up_size)

        return self.conv_out(F.silu(self.conv_norm_out(x)))


# --------------------------------------------------------------------------
# Benchmark
# --------------------------------------------------------------------------


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def per_sample_mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per sample, averaged over the batch."""
    return (out - target).pow(2).flatten(1).mean(dim=1).mean()


def mean_time(step, warmup: int, steps: int) -> float:
    """Run `step` `warmup` times untimed, then return the mean wall time of `steps` runs."""
    for _ in range(warmup):
        step()
    total = 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        total += time.perf_counter() - t0
    return total / steps


def make_inputs(batch: int, size: int, ctx_len: int, ctx_dim: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(batch, 4, size, size, generator=g)
    timesteps = torch.randint(0, 1000, (batch,), generator=g)
    context = torch.randn(batch, ctx_len, ctx_dim, generator=g)
    target = torch.randn(batch, 4, size, size, generator=g)
    return sample, timesteps, context, target


def set_trainable(model: nn.Module, flag: bool) -> None:
    for p in model.parameters():
        p.requires_grad_(flag)


def input_grad_step(model, sample, timesteps, context, target):
    """Frozen parameters; gradient w.r.t. the conditioning context only."""
    ctx = context.detach().requires_grad_(True)
    loss = per_sample_mse(model(sample, timesteps, ctx), target)
    loss.backward()
    return ctx.grad


def run_default(args, model: nn.Module) -> dict:
    sample, timesteps, context, target = make_inputs(8, 16, 24, DEFAULT_CONFIG.cross_attention_dim)

    def train_step():
        model.zero_grad(set_to_none=True)
        loss = per_sample_mse(model(sample, timesteps, context), target)
        loss.backward()

    results = {}
    for t in args.threads:
        torch.set_num_threads(t)
        set_trainable(model, True)
        train_s = mean_time(train_step, args.warmup, args.steps)
        set_trainable(model, False)
        model.zero_grad(set_to_none=True)
        inp_s = mean_time(lambda: input_grad_step(model, sample, timesteps, context, target), args.warmup, args.steps)
        results[str(t)] = {"train_s": round(train_s, 5), "input_grad_s": round(inp_s, 5)}
        print(f"threads={t}: train {train_s * 1e3:.1f} ms, input-grad {inp_s * 1e3:.1f} ms", file=sys.stderr)
    return {"threads": results}


def run_real(args, model: nn.Module) -> dict:
    set_trainable(model, False)
    sample, timesteps, context, target = make_inputs(1, 32, 77, SD15_CONFIG.cross_attention_dim)

    def forward_only():
        with torch.no_grad():
            model(sample, timesteps, context)

    results = {}
    for t in args.threads:
        torch.set_num_threads(t)
        inp_s = mean_time(lambda: input_grad_step(model, sample, timesteps, context, target), args.warmup, args.steps)
        fwd_s = mean_time(forward_only, args.warmup, args.steps)
        results[str(t)] = {"input_grad_s": round(inp_s, 4), "forward_s": round(fwd_s, 4)}
        print(f"threads={t}: input-grad {inp_s:.2f} s, forward {fwd_s:.2f} s", file=sys.stderr)
    # ru_maxrss is in KiB on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"threads": results, "peak_rss_mb": round(peak_mb, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2", help="comma-separated torch.set_num_threads values (default 1,2)")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 10; 3 with --real)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up steps (default 2; 1 with --real)")
    p.add_argument("--expect", type=int, default=None, help="expected parameter count; exit 1 if different")
    p.add_argument("--real", action="store_true", help="SD 1.5 sized U-Net instead of the project default")
    p.add_argument("--list-params", action="store_true", help="print 'name [shape]' per parameter and exit")
    args = p.parse_args()
    args.threads = [int(s) for s in args.threads.split(",") if s.strip()]
    if args.steps is None:
        args.steps = 3 if args.real else 10
    if args.warmup is None:
        args.warmup = 1 if args.real else 2

    torch.manual_seed(0)  # deterministic weight init
    model = UNet2DConditionModel(SD15_CONFIG if args.real else DEFAULT_CONFIG)
    n = parameter_count(model)

    if args.list_params:
        for name, prm in model.named_parameters():
            print(name, json.dumps(list(prm.shape), separators=(",", ":")))
        return 0

    # Check the parameter count before spending time on the benchmark.
    expect = args.expect if args.expect is not None else (SD15_PARAMS if args.real else None)
    print(f"parameters: torch {n:,}, expected {expect:,}" if expect is not None
          else f"parameters: torch {n:,} (no --expect given)", file=sys.stderr)
    if expect is not None and n != expect:
        print(json.dumps({"params": n, "expected_params": expect, "error": "parameter count mismatch"}))
        return 1

    result = {"params": n}
    if expect is not None:
        result["expected_params"] = expect
    result.update(run_real(args, model) if args.real else run_default(args, model))
    result["torch"] = torch.__version__
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
