import sharp from 'sharp';
const w = 64, h = 64, px = Buffer.alloc(w * h * 3);
for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
  const i = (y * w + x) * 3;
  const inSquare = x >= 12 && x < 36 && y >= 12 && y < 36;
  const inCircle = (x - 42) ** 2 + (y - 42) ** 2 < 14 ** 2;
  const c = inCircle ? [40, 90, 220] : inSquare ? [230, 60, 40] : [245, 240, 225];
  px.set(c, i);
}
await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile('workflows/examples/assets/shapes.png');
