# Run after bench/diffusion/export-reference.ts; needs only numpy.
# Independent numpy reference of diffusers' UNet2DConditionModel / AutoencoderKL forward (written from the
# diffusers code structure), checked against the TypeScript implementation's tfjs outputs.
import json, struct, sys, math
import numpy as np

def load(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8+n]); base = 8+n; out = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']; assert v['dtype'] == 'F32'
        out[k] = np.frombuffer(b[base+s:base+e], dtype=np.float32).reshape(v['shape']).astype(np.float64)
    return out

def conv(x, w, b=None, stride=1, pad=(1,1,1,1)):
    t, bo, l, r = pad
    x = np.pad(x, ((0,0),(0,0),(t,bo),(l,r)))
    N, C, H, W = x.shape; O, I, kh, kw = w.shape
    oh = (H - kh)//stride + 1; ow = (W - kw)//stride + 1
    cols = np.zeros((N, C, kh, kw, oh, ow))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i+stride*oh:stride, j:j+stride*ow:stride]
    y = np.einsum('ncijhw,ocij->nohw', cols, w)
    return y + b[None, :, None, None] if b is not None else y

def gn(x, g, w, b, eps):
    N, C = x.shape[:2]
    xr = x.reshape(N, g, -1); m = xr.mean(-1, keepdims=True); v = xr.var(-1, keepdims=True)
    xr = (xr - m)/np.sqrt(v + eps)
    return xr.reshape(x.shape)*w[None,:,None,None] + b[None,:,None,None]

def ln(x, w, b, eps=1e-5):
    m = x.mean(-1, keepdims=True); v = x.var(-1, keepdims=True)
    return (x-m)/np.sqrt(v+eps)*w + b

silu = lambda x: x/(1+np.exp(-x))
from math import erf
verf = np.vectorize(erf)
gelu = lambda x: 0.5*x*(1+verf(x/math.sqrt(2)))
lin = lambda x, P, k: x @ P[k+'.weight'].T + (P[k+'.bias'] if k+'.bias' in P else 0)

def softmax(x):
    x = x - x.max(-1, keepdims=True); e = np.exp(x); return e/e.sum(-1, keepdims=True)

def attn(P, k, x, ctx, heads):
    q = lin(x, P, k+'.to_q'); kk = lin(ctx, P, k+'.to_k'); v = lin(ctx, P, k+'.to_v')
    B, T, C = q.shape; S = kk.shape[1]; d = C//heads
    q = q.reshape(B, T, heads, d).transpose(0,2,1,3); kk = kk.reshape(B, S, heads, d).transpose(0,2,1,3); v = v.reshape(B, S, heads, d).transpose(0,2,1,3)
    p = softmax(q @ kk.transpose(0,1,3,2) / math.sqrt(d))
    o = (p @ v).transpose(0,2,1,3).reshape(B, T, C)
    return lin(o, P, k+'.to_out.0')

def resnet(P, k, x, temb, groups, eps):
    h = conv(silu(gn(x, groups, P[k+'.norm1.weight'], P[k+'.norm1.bias'], eps)), P[k+'.conv1.weight'], P[k+'.conv1.bias'])
    if temb is not None:
        h = h + lin(silu(temb), P, k+'.time_emb_proj')[:, :, None, None]
    h = conv(silu(gn(h, groups, P[k+'.norm2.weight'], P[k+'.norm2.bias'], eps)), P[k+'.conv2.weight'], P[k+'.conv2.bias'])
    if k+'.conv_shortcut.weight' in P:
        x = conv(x, P[k+'.conv_shortcut.weight'], P[k+'.conv_shortcut.bias'], pad=(0,0,0,0))
    return x + h

def transformer(P, k, x, ctx, heads, groups):
    B, C, H, W = x.shape; res = x
    h = gn(x, groups, P[k+'.norm.weight'], P[k+'.norm.bias'], 1e-6)
    h = conv(h, P[k+'.proj_in.weight'], P[k+'.proj_in.bias'], pad=(0,0,0,0))
    h = h.transpose(0,2,3,1).reshape(B, H*W, C)
    b = k+'.transformer_blocks.0'
    h = attn(P, b+'.attn1', ln(h, P[b+'.norm1.weight'], P[b+'.norm1.bias']), ln(h, P[b+'.norm1.weight'], P[b+'.norm1.bias']), heads) + h
    h = attn(P, b+'.attn2', ln(h, P[b+'.norm2.weight'], P[b+'.norm2.bias']), ctx, heads) + h
    n = ln(h, P[b+'.norm3.weight'], P[b+'.norm3.bias'])
    pr = lin(n, P, b+'.ff.net.0.proj'); a, g = np.split(pr, 2, axis=-1)
    h = lin(a*gelu(g), P, b+'.ff.net.2') + h
    h = h.reshape(B, H, W, C).transpose(0,3,1,2)
    return conv(h, P[k+'.proj_out.weight'], P[k+'.proj_out.bias'], pad=(0,0,0,0)) + res

def unet(P, cfg, x, t, ctx):
    ch = cfg['blockOutChannels']; G = cfg['normNumGroups']; eps = cfg['normEps']; L = cfg['layersPerBlock']; hd = cfg['attentionHeads']
    half = ch[0]//2
    freqs = np.exp(-math.log(10000)*np.arange(half)/half)
    e = t[:, None]*freqs[None]
    e = np.concatenate([np.sin(e), np.cos(e)], -1)
    e = np.concatenate([e[:, half:], e[:, :half]], -1)  # flip_sin_to_cos
    temb = lin(silu(lin(e, P, 'time_embedding.linear_1')), P, 'time_embedding.linear_2')
    h = conv(x, P['conv_in.weight'], P['conv_in.bias'])
    skips = [h]
    for i, typ in enumerate(cfg['downBlockTypes']):
        for l in range(L):
            h = resnet(P, f'down_blocks.{i}.resnets.{l}', h, temb, G, eps)
            if typ.startswith('CrossAttn'): h = transformer(P, f'down_blocks.{i}.attentions.{l}', h, ctx, hd, G)
            skips.append(h)
        if i < len(ch)-1:
            h = conv(h, P[f'down_blocks.{i}.downsamplers.0.conv.weight'], P[f'down_blocks.{i}.downsamplers.0.conv.bias'], stride=2)
            skips.append(h)
    h = resnet(P, 'mid_block.resnets.0', h, temb, G, eps)
    h = transformer(P, 'mid_block.attentions.0', h, ctx, hd, G)
    h = resnet(P, 'mid_block.resnets.1', h, temb, G, eps)
    for i, typ in enumerate(cfg['upBlockTypes']):
        for l in range(L+1):
            h = np.concatenate([h, skips.pop()], 1)
            h = resnet(P, f'up_blocks.{i}.resnets.{l}', h, temb, G, eps)
            if typ.startswith('CrossAttn'): h = transformer(P, f'up_blocks.{i}.attentions.{l}', h, ctx, hd, G)
        if i < len(ch)-1:
            h = h.repeat(2, 2).repeat(2, 3)
            h = conv(h, P[f'up_blocks.{i}.upsamplers.0.conv.weight'], P[f'up_blocks.{i}.upsamplers.0.conv.bias'])
    h = silu(gn(h, G, P['conv_norm_out.weight'], P['conv_norm_out.bias'], eps))
    return conv(h, P['conv_out.weight'], P['conv_out.bias'])

def vae_attn(P, k, x, G):
    B, C, H, W = x.shape
    h = gn(x, G, P[k+'.group_norm.weight'], P[k+'.group_norm.bias'], 1e-6).reshape(B, C, H*W).transpose(0,2,1)
    o = attn(P, k, h, h, 1)
    return o.transpose(0,2,1).reshape(B, C, H, W) + x

def vae_mid(P, k, h, G):
    h = resnet(P, k+'.resnets.0', h, None, G, 1e-6); h = vae_attn(P, k+'.attentions.0', h, G); return resnet(P, k+'.resnets.1', h, None, G, 1e-6)

def vae_encode(P, cfg, x):
    ch = cfg['blockOutChannels']; G = cfg['normNumGroups']; L = cfg['layersPerBlock']
    h = conv(x, P['encoder.conv_in.weight'], P['encoder.conv_in.bias'])
    for i in range(len(ch)):
        for l in range(L): h = resnet(P, f'encoder.down_blocks.{i}.resnets.{l}', h, None, G, 1e-6)
        if i < len(ch)-1: h = conv(h, P[f'encoder.down_blocks.{i}.downsamplers.0.conv.weight'], P[f'encoder.down_blocks.{i}.downsamplers.0.conv.bias'], stride=2, pad=(0,1,0,1))
    h = vae_mid(P, 'encoder.mid_block', h, G)
    h = conv(silu(gn(h, G, P['encoder.conv_norm_out.weight'], P['encoder.conv_norm_out.bias'], 1e-6)), P['encoder.conv_out.weight'], P['encoder.conv_out.bias'])
    return conv(h, P['quant_conv.weight'], P['quant_conv.bias'], pad=(0,0,0,0))

def vae_decode(P, cfg, z):
    ch = cfg['blockOutChannels']; G = cfg['normNumGroups']; L = cfg['layersPerBlock']
    z = conv(z, P['post_quant_conv.weight'], P['post_quant_conv.bias'], pad=(0,0,0,0))
    h = conv(z, P['decoder.conv_in.weight'], P['decoder.conv_in.bias'])
    h = vae_mid(P, 'decoder.mid_block', h, G)
    for i in range(len(ch)):
        for l in range(L+1): h = resnet(P, f'decoder.up_blocks.{i}.resnets.{l}', h, None, G, 1e-6)
        if i < len(ch)-1:
            h = h.repeat(2, 2).repeat(2, 3)
            h = conv(h, P[f'decoder.up_blocks.{i}.upsamplers.0.conv.weight'], P[f'decoder.up_blocks.{i}.upsamplers.0.conv.bias'])
    return conv(silu(gn(h, G, P['decoder.conv_norm_out.weight'], P['decoder.conv_norm_out.bias'], 1e-6)), P['decoder.conv_out.weight'], P['decoder.conv_out.bias'])

DIR = sys.argv[1] if len(sys.argv) > 1 else '.cache/reference'
for name in ['small', 'medium']:
    P = load(f'{DIR}/unet-{name}.safetensors'); cfg = json.load(open(f'{DIR}/unet-{name}.json'))
    y = unet(P, cfg, P['__x'], P['__t'], P['__c'])
    print(f'unet {name}: max|Δ| = {np.abs(y - P["__y"]).max():.2e}, max|y| = {np.abs(y).max():.2f}')
P = load(f'{DIR}/vae.safetensors'); cfg = json.load(open(f'{DIR}/vae.json'))
m = vae_encode(P, cfg, P['__img']); print(f'vae encode: max|Δ| = {np.abs(m - P["__m"]).max():.2e}, max = {np.abs(m).max():.2f}')
d = vae_decode(P, cfg, P['__z']); print(f'vae decode: max|Δ| = {np.abs(d - P["__d"]).max():.2e}, max = {np.abs(d).max():.2f}')
